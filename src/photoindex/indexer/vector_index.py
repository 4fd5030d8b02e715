"""Builds the embedded store's vector index without stalling the event loop: a copy, a child process, a swap.

qdrant-edge's ``optimize()`` holds the GIL for its whole run (minutes at 100k),
so it never runs in the daemon's process. Instead:

1. with every write held (``IndexWriter.paused``), the store is flushed, its
   journal of written ids started, and its directory copied by ``cp`` (a
   subprocess, awaited: the loop runs, searches go on);
2. writes resume, and ``edge_index_child`` (a low-priority process that dies
   with the daemon) builds the index in the copy;
3. the copy takes its final name, and with writes held again ``swap_in``
   carries over what was written meanwhile and swaps the shards.

Points written after the copy are in the serving shard's plain segment until
the next build, and search scans them in full, so they are found at once.
A build that fails or is cancelled leaves the store as it was.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.store.edge import EdgeStore
from photoindex.indexer.store.edge_swap import swap_in
from photoindex.indexer.writer import IndexWriter

log = structlog.get_logger(__name__)

# The copy, plus what the build adds (graph, quantized vectors: about a fifth more at dim 512), plus a
# margin above the daemon's own free-space reserve.
_ROOM_FACTOR = 1.5
_ROOM_MARGIN_BYTES = 256 << 20


@dataclass(frozen=True)
class IndexPolicy:
    """When to build, and what: see ``StoreSettings.index_*``."""

    min_new: int = 20_000
    new_fraction: float = 0.1
    # m 16, ef_construct 100: qdrant's defaults; recall and timings in bench/index_build.py.
    m: int = 16
    ef_construct: int = 100
    quantized: bool = True


@dataclass(frozen=True)
class BuildReport:
    copy_s: float  # writes were held this long for the copy
    build_s: float  # the child process
    swap_s: float  # writes were held this long for the swap
    load_s: float  # of which loading the built shard
    copied: int  # points written during the build and carried over
    indexed: int  # vectors in the index after the swap


class VectorIndexBuilder:
    """Builds ``store``'s vector index in a child process and swaps it in under ``writer``."""

    def __init__(self, writer: IndexWriter, store: EdgeStore, policy: IndexPolicy | None = None) -> None:
        self._writer = writer
        self._store = store
        self.policy = policy or IndexPolicy()
        self.stage = "idle"  # copying, building (the child runs, writes go on), swapping; for status
        # Awaited between the finished build and the swap, writes still open: where a test writes "during
        # the build" at a known moment. None in the daemon.
        self.before_swap: Callable[[], Awaitable[None]] | None = None

    async def unindexed(self) -> tuple[int, int]:
        """(vectors searched in full, vectors in the index)."""
        vectors, indexed = await anyio.to_thread.run_sync(self._store.vector_counts)
        return max(0, vectors - indexed), indexed

    async def due(self) -> bool:
        """Enough vectors were written since the last build to make another worth its minutes."""
        new, indexed = await self.unindexed()
        return new >= max(self.policy.min_new, self.policy.new_fraction * indexed)

    async def build(self) -> BuildReport:
        """Build the index of the store as it is now and swap it in; writes go on meanwhile."""
        if self.stage != "idle":
            raise StoreError("a vector index build is already running")
        self.stage = "copying"
        layout = self._store.layout
        try:
            await anyio.to_thread.run_sync(shutil.rmtree, layout.building, True)  # an interrupted build's
            await anyio.to_thread.run_sync(self._check_room)
            copy_s = await self._copy(layout.building)
            self.stage = "building"
            started = time.perf_counter()
            await self._run_child(layout.building)
            build_s = time.perf_counter() - started
            built = layout.next_built()
            layout.building.rename(built)  # only a finished build carries a name the layout may open
            if self.before_swap is not None:
                await self.before_swap()
            self.stage = "swapping"
            started = time.perf_counter()
            async with self._writer.paused():
                report = await anyio.to_thread.run_sync(swap_in, self._store, built, self._store.take_journal())
            swap_s = time.perf_counter() - started
        finally:
            self._store.take_journal()  # stop recording (a no-op after a swap)
            self.stage = "idle"
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(layout.remove_leftovers)
        _new, indexed = await self.unindexed()
        result = BuildReport(copy_s, build_s, swap_s, report.load_s, report.copied, indexed)
        log.info(
            "store.index_built",
            copy_ms=round(copy_s * 1000),
            build_s=round(build_s, 1),
            swap_ms=round(swap_s * 1000),
            load_ms=round(report.load_s * 1000),
            copied=report.copied,
            indexed=indexed,
        )
        return result

    def _check_room(self) -> None:
        """Refuse to copy a store the disk has no room for: a full disk would stop the store's own writes."""
        path = self._store.path
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        free = shutil.disk_usage(path).free
        if free < size * _ROOM_FACTOR + _ROOM_MARGIN_BYTES:
            raise StoreError(
                f"no room to build the vector index: the store takes {size >> 20} MB, {free >> 20} MB are free",
                code=ErrorCode.DISK_FULL,
            )

    async def _copy(self, target: Path) -> float:
        started = time.perf_counter()
        async with self._writer.paused():
            await anyio.to_thread.run_sync(self._store.flush)
            self._store.start_journal()
            await anyio.run_process(["cp", "-a", "--reflink=auto", str(self._store.path), str(target)])
        return time.perf_counter() - started

    async def _run_child(self, directory: Path) -> None:
        policy = self.policy
        command = [
            sys.executable,
            "-m",
            "photoindex.indexer.store.edge_index_child",
            str(directory),
            f"--dim={self._store.dim}",
            f"--m={policy.m}",
            f"--ef-construct={policy.ef_construct}",
            f"--parent={os.getpid()}",
            *(["--quantized"] if policy.quantized else []),
        ]
        result = await anyio.run_process(command, check=False)
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace")[-2000:]
            raise StoreError(f"the vector index build failed (exit {result.returncode}): {error}")
        log.info("store.index_child_done", output=result.stdout.decode(errors="replace").strip())


__all__ = ["BuildReport", "IndexPolicy", "VectorIndexBuilder"]
