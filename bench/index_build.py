"""Measure the embedded store's vector index build: its duration, the event loop's longest pause, search before/after.

    PYTHONPATH=src .venv/bin/python bench/index_build.py --points 100000 --dim 512

Fills a store in a temporary directory with clustered unit vectors (a mixture
of Gaussians on the sphere, as CLIP vectors cluster) and bench/store.py's
payloads, then runs the daemon's ``VectorIndexBuilder`` (copy, child
process, swap) while a task ticks on the event loop every 5 ms. Prints the
build's phases, the longest gap between ticks, search p50/p95 (unfiltered
and filtered) before and after, and recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import anyio
import msgspec
import numpy as np
from bench.store import make_points

from photoindex.indexer.state import IndexState
from photoindex.indexer.store import EdgeStore, PhotoFilter
from photoindex.indexer.vector_index import VectorIndexBuilder
from photoindex.indexer.writer import IndexWriter

FILTERED = PhotoFilter(camera_makes=("Canon", "Sony"), has_gps=True, taken_from_ts=1.0e9, taken_to_ts=1.5e9)


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> np.ndarray:
    centers = rng.standard_normal((clusters, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    vectors = centers[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)).astype(np.float32) * 0.04
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(store: EdgeStore, n: int, dim: int, clusters: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    vectors = clustered(rng, n, dim, clusters)
    for start in range(0, n, 2000):
        points = make_points(rng, start, min(2000, n - start), dim)
        store.upsert([msgspec.structs.replace(p, vector=vectors[start + k]) for k, p in enumerate(points)])
    store.flush()
    return vectors


def searches(store: EdgeStore, queries: np.ndarray, flt: PhotoFilter | None) -> tuple[float, float, list[list[str]]]:
    took, found = [], []
    for q in queries:
        started = time.perf_counter()
        hits = store.search(q, limit=10, flt=flt, fields=())
        took.append((time.perf_counter() - started) * 1000)
        found.append([h.id for h in hits])
    cuts = statistics.quantiles(took, n=20)
    return statistics.median(took), cuts[18], found


async def build_with_ticker(store: EdgeStore) -> None:
    builder = VectorIndexBuilder(IndexWriter(store, IndexState("bench-host")), store)
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await anyio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        started = time.perf_counter()
        report = await builder.build()
        took = time.perf_counter() - started
        tg.cancel_scope.cancel()
    print(
        f"build {took:.1f} s (writes held {report.copy_s:.2f} s for the copy, child {report.build_s:.1f} s, "
        f"swap {report.swap_s:.2f} s of which load {report.load_s:.2f} s); indexed {report.indexed}"
    )
    print(f"longest event-loop pause during the build: {max(gaps) * 1000:.0f} ms over {len(gaps)} ticks")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--rebuild", type=int, default=0, help="then write this many more points and build again (a later build)"
    )
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="photoindex-index-bench-"))
    try:
        store = EdgeStore.open(base, "photos", args.dim)
        started = time.perf_counter()
        vectors = fill(store, args.points, args.dim, args.clusters)
        print(f"filled {args.points} points in {time.perf_counter() - started:.1f} s")
        rng = np.random.default_rng(7)
        picks = vectors[rng.integers(0, len(vectors), args.queries)]
        queries = picks + rng.standard_normal(picks.shape).astype(np.float32) * 0.02
        before = {label: searches(store, queries, flt) for label, flt in (("unfiltered", None), ("filtered", FILTERED))}
        anyio.run(build_with_ticker, store)
        for label, flt in (("unfiltered", None), ("filtered", FILTERED)):
            p50_0, p95_0, exact = before[label]
            p50, p95, found = searches(store, queries, flt)
            recall = np.mean([len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(exact, found, strict=True)])
            print(
                f"search {label}: p50/p95 {p50_0:.1f}/{p95_0:.1f} ms full scan -> {p50:.1f}/{p95:.1f} ms indexed, "
                f"recall@10 {recall:.3f}"
            )
        if args.rebuild:
            rng = np.random.default_rng(11)
            more = clustered(rng, args.rebuild, args.dim, args.clusters)
            points = make_points(rng, args.points, args.rebuild, args.dim)
            store.upsert([msgspec.structs.replace(p, vector=more[k]) for k, p in enumerate(points)])
            print(f"a later build, {args.rebuild} points written since the first:")
            anyio.run(build_with_ticker, store)
        store.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
