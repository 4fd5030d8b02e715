"""The embedded store's vector index: built in a real child process from a copy, swapped in under the writer.

Real parts throughout: an edge shard in a temporary directory, the real
``IndexWriter``, the real ``edge_index_child`` process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio
import numpy as np
import pytest

from photoindex.indexer.state import IndexState
from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, point_id
from photoindex.indexer.vector_index import BuildReport, IndexPolicy, VectorIndexBuilder
from photoindex.indexer.writer import IndexWriter

pytestmark = pytest.mark.anyio

COLLECTION = "photos"
HOST = "test-host"
SMALL_DIM = 16


def _points(rng: np.random.Generator, start: int, n: int, dim: int) -> list[PhotoPoint]:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        PhotoPoint(
            id=point_id(HOST, f"/lib/{i}.jpg"),
            payload=PhotoPayload(path=f"/lib/{i}.jpg", host_id=HOST, status="indexed"),
            vector=vectors[k],
        )
        for k, i in enumerate(range(start, start + n))
    ]


def _filled(base: Path, n: int, dim: int) -> EdgeStore:
    store = EdgeStore.open(base, COLLECTION, dim)
    rng = np.random.default_rng(1)
    for start in range(0, n, 2000):
        store.upsert(_points(rng, start, min(2000, n - start), dim))
    store.set_meta({"model_id": "tiny"})
    return store


def _builder(store: EdgeStore) -> VectorIndexBuilder:
    return VectorIndexBuilder(
        IndexWriter(store, IndexState(HOST)), store, IndexPolicy(min_new=100, m=8, ef_construct=32)
    )


def _top(store: EdgeStore, vector: np.ndarray) -> str:
    return store.search(vector, limit=1)[0].id


async def _wait_for(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(60):
        while not condition():
            await anyio.sleep(0.01)


async def test_a_build_indexes_every_vector_and_keeps_every_write_made_meanwhile(tmp_path: Path) -> None:
    store = _filled(tmp_path, 3000, SMALL_DIM)
    builder = _builder(store)
    writer = builder._writer
    assert await builder.due()
    rng = np.random.default_rng(2)
    during_child, before_swap = _points(rng, 10_000, 5, SMALL_DIM), _points(rng, 20_000, 5, SMALL_DIM)
    gone = [point_id(HOST, f"/lib/{i}.jpg") for i in (3, 4)]
    captioned = point_id(HOST, "/lib/5.jpg")

    async def write_before_swap() -> None:
        # After the copy was built, before the swap: every one of these is in the old shard only.
        await writer.write(upsert=before_swap, delete=gone)
        await writer.set_payload([(captioned, {"caption": "a red boat"})])
        store.set_meta({"model_id": "tiny", "built": 1})
        for p in [*during_child, *before_swap]:  # searchable at once, unindexed
            assert p.vector is not None and _top(store, p.vector) == p.id

    builder.before_swap = write_before_swap
    async with anyio.create_task_group() as tg:
        built: list[BuildReport] = []

        async def build() -> None:
            built.append(await builder.build())

        tg.start_soon(build)
        await _wait_for(lambda: builder.stage == "building")
        await writer.write(upsert=during_child)
    report = built[0]
    assert report.copied == len(during_child) + len(before_swap) + len(gone) + 2  # + caption, meta

    def check(s: EdgeStore) -> None:
        for p in [*during_child, *before_swap]:
            assert p.vector is not None and _top(s, p.vector) == p.id
        assert s.retrieve(gone) == []
        assert s.retrieve([captioned])[0].payload.caption == "a red boat"
        assert s.get_meta() == {"model_id": "tiny", "built": 1}
        assert s.count() == 3000 + 10 - 2

    check(store)
    vectors, indexed = store.vector_counts()
    # The index holds the 3000 copied vectors (the two deleted since may still count), not the 10 written
    # during the build: those are searched in full until the next one.
    assert vectors == 3008 and 2998 <= indexed <= 3000
    assert "+built-1" in store.path.name and store.layout.leftovers() == []
    store.close()
    reopened = EdgeStore.open(tmp_path, COLLECTION, SMALL_DIM)  # a restart opens the built shard
    try:
        assert reopened.path == store.path and reopened.vector_counts() == (vectors, indexed)
        check(reopened)
    finally:
        reopened.close()


async def test_an_interrupted_build_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = _filled(tmp_path, 3000, SMALL_DIM)
    builder = _builder(store)
    extra = _points(np.random.default_rng(3), 50_000, 3, SMALL_DIM)
    with anyio.CancelScope() as scope:

        async def cancel_once_built() -> None:
            await builder._writer.write(upsert=extra)
            scope.cancel()
            await anyio.sleep_forever()

        builder.before_swap = cancel_once_built
        await builder.build()
    assert builder.stage == "idle" and store.layout.leftovers() == []
    assert store.path == tmp_path / COLLECTION
    await builder._writer.write(delete=[extra[0].id])
    assert store.count() == 3002 and store.vector_counts() == (3002, 0)
    assert extra[1].vector is not None and _top(store, extra[1].vector) == extra[1].id
    store.close()
    reopened = EdgeStore.open(tmp_path, COLLECTION, SMALL_DIM)
    try:
        assert reopened.count() == 3002
    finally:
        reopened.close()


async def test_the_event_loop_runs_on_while_a_build_takes_seconds(tmp_path: Path) -> None:
    # 16k vectors of dim 512: the in-process optimize holds the GIL for seconds here (about 8 s on 2 cores).
    store = _filled(tmp_path, 16_000, 512)
    builder = VectorIndexBuilder(IndexWriter(store, IndexState(HOST)), store)
    gaps: list[float] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_tick, gaps)
            started = time.perf_counter()
            report = await builder.build()
            took = time.perf_counter() - started
            tg.cancel_scope.cancel()
    finally:
        store.close()
    assert report.indexed == 16_000
    # The loop's longest pause (loading the built shard, in a thread that holds the GIL) is a small
    # part of the build, which ran in the child process.
    assert max(gaps) < took / 4, (max(gaps), took, report)


async def _tick(gaps: list[float]) -> None:
    last = time.perf_counter()
    while True:
        await anyio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
