"""The vector index part of bench/scale.py: the daemon's own build (copy, child process, swap) on the built library.

A quiet daemon builds the embedded store's index once enough vectors are
unindexed (``IndexUpkeep``); the benchmark runs the same ``VectorIndexBuilder``
right after writing the library, so the store's search rows and the served
daemon measure an indexed store, as a library that has been running would be.
A task ticks on the event loop every 5 ms meanwhile: the longest gap between
ticks is how long the daemon's API would have stalled during the build.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from photoindex.indexer.state import IndexState
from photoindex.indexer.store.edge import EdgeStore
from photoindex.indexer.vector_index import VectorIndexBuilder
from photoindex.indexer.writer import IndexWriter

TICK_S = 0.005


async def _build_with_ticks(store: EdgeStore, host_id: str) -> dict[str, Any]:
    builder = VectorIndexBuilder(IndexWriter(store, IndexState(host_id)), store)
    longest = 0.0
    ticks = 0

    async def tick() -> None:
        nonlocal longest, ticks
        last = time.perf_counter()
        while True:
            await anyio.sleep(TICK_S)
            now = time.perf_counter()
            longest = max(longest, now - last - TICK_S)
            ticks += 1
            last = now

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(tick)
        began = time.perf_counter()
        report = await builder.build()
        took = time.perf_counter() - began
        tasks.cancel_scope.cancel()
    return {
        "seconds": round(took, 1),
        "child_s": round(report.build_s, 1),
        "writes_held_copy_s": round(report.copy_s, 2),
        "writes_held_swap_s": round(report.swap_s, 2),
        "load_built_s": round(report.load_s, 2),
        "indexed": report.indexed,
        "longest_loop_pause_s": round(longest, 3),
        "ticks": ticks,
    }


def measure_index_build(store: EdgeStore, host_id: str) -> dict[str, Any]:
    """Build ``store``'s vector index as the daemon does; its phases and the event loop's longest pause."""
    return anyio.run(_build_with_ticks, store, host_id)


__all__ = ["measure_index_build"]
