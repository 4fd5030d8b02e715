"""The daemon's index upkeep: a build once enough vectors wait unindexed, while the daemon is quiet."""

from __future__ import annotations

from pathlib import Path

import anyio
import numpy as np
import pytest

from photoindex.daemon.index_upkeep import IndexUpkeep
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, point_id
from photoindex.indexer.vector_index import IndexPolicy, VectorIndexBuilder
from photoindex.indexer.writer import IndexWriter

pytestmark = pytest.mark.anyio

DIM = 8


def _points(start: int, n: int) -> list[PhotoPoint]:
    rng = np.random.default_rng(start)
    return [
        PhotoPoint(id=point_id("h", f"/lib/{i}.jpg"), payload=PhotoPayload(path=f"/lib/{i}.jpg"), vector=v)
        for i, v in zip(range(start, start + n), rng.standard_normal((n, DIM)).astype(np.float32), strict=True)
    ]


async def test_a_build_waits_for_enough_new_vectors_then_runs_when_quiet(tmp_path: Path) -> None:
    store = EdgeStore.open(tmp_path, "photos", DIM)
    try:
        store.upsert(_points(0, 400))
        builder = VectorIndexBuilder(IndexWriter(store, IndexState("h")), store, IndexPolicy(min_new=500, m=8))
        assert not await builder.due()  # 400 of the 500 new vectors a build waits for
        store.upsert(_points(400, 200))
        assert await builder.due()
        upkeep = IndexUpkeep(builder, quiet=lambda: True, indexed_total=lambda: 600)
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                tg.start_soon(upkeep.run)
                while upkeep.builds == 0:
                    await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
        assert store.vector_counts() == (600, 600) and not await builder.due()
    finally:
        store.close()
