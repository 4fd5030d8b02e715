"""A library of N photos, end to end: every path the issue "a million photos" names, measured in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py                # 1,000,000 photos, ViT-B-32 (random weights)
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --n 200000     # another size
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --quick        # 20,000 photos, a tiny model (the test)
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --url http://localhost:6333   # against a Qdrant server

1. **Build** (``scale_library.py``): N tiny files in nested folders and N
   points written through the project's store adapter, with clustered vectors
   and the payloads the pipeline writes (cameras, dates, 30 % GPS, captions,
   hashes, a few per cent copies).
2. **The vector index** (``scale_index.py``): the daemon's own build (copy,
   child process, swap), as a quiet daemon runs it once enough vectors are
   unindexed; its duration and the event loop's longest pause meanwhile.
   Skipped with ``--url`` (a server indexes by itself).
3. **The store alone**: reopen time; search p50/p95 unfiltered and filtered
   (make + has GPS + date range); recall@10 against exact search.
4. **A real ``photoindex serve``** on that library, query API on, models in
   their child process: start → API answering; the first reconcile of the N
   unchanged files while text queries run; text queries over HTTP (encoding
   included), unfiltered and filtered; drop → searchable; exact and near
   duplicates (first answer, then after a new copy); similar groups; the first
   map; the longest API stall (``/health`` asked every 50 ms throughout); the
   process tree's peak RSS; its idle ``RssAnon`` after the model unload TTL,
   memory-mapped files apart; disk per photo.
5. **Re-index rate**: N/10 more points with reused vectors, through the adapter.

Prints a table against the goals and writes JSON (default
``bench/results/scale-<time>.json``). Waits are capped (``--similar-timeout``,
``--map-timeout``); a row that did not finish in its cap says so.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # random weights: nothing to download

import argparse
import contextlib
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from latency import free_port, model_settings, settings_for, settings_toml
from photoindex.components import lay_groundwork, open_index_store
from photoindex.config import ApiSettings, StoreSettings
from photoindex.errors import StoreError
from photoindex.indexer.identity import load_host_id
from photoindex.indexer.records import FileFacts
from photoindex.indexer.store import EdgeStore, PhotoFilter, VectorStore, point_id
from scale_index import measure_index_build
from scale_library import BuiltLibrary, LibraryMaker, exact_kth_scores, recall_at_k, search_queries
from scale_serve import ServeRun, measure_serve
from scale_table import print_table

REPO = Path(__file__).resolve().parents[1]
K = 10
FILTERED = PhotoFilter(
    camera_makes=("Canon",),
    has_gps=True,
    taken_from_ts=1199145600.0,  # 2008-01-01
    taken_to_ts=1451606400.0,  # 2016-01-01
)


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q)) if samples else float("nan")


def measure_store(store: VectorStore, maker: LibraryMaker, n: int, queries: int) -> dict[str, Any]:
    """Search latency on the adapter, and recall@10 against exact search over the same vectors."""
    vectors = search_queries(maker.vectors, n, queries)
    timings: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    found_scores: list[list[float]] = []
    for round_ in range(2):  # the first round warms the page cache; the second is measured
        for label, flt in (("unfiltered", None), ("filtered", FILTERED)):
            for vector in vectors:
                began = time.perf_counter()
                hits = store.search(vector, limit=K, flt=flt)
                if round_:
                    timings[label].append(time.perf_counter() - began)
                    if flt is None:
                        found_scores.append([h.score for h in hits])
    kth = exact_kth_scores(maker.vectors, n, vectors, K)
    return {
        "queries": queries,
        "search_unfiltered_p50_ms": round(percentile(timings["unfiltered"], 50) * 1000, 2),
        "search_unfiltered_p95_ms": round(percentile(timings["unfiltered"], 95) * 1000, 2),
        "search_filtered_p50_ms": round(percentile(timings["filtered"], 50) * 1000, 2),
        "search_filtered_p95_ms": round(percentile(timings["filtered"], 95) * 1000, 2),
        "recall_at_10": round(recall_at_k(found_scores, kth, K), 4),
    }


def measure_reopen(open_store: Any) -> float:
    """Seconds to open the store again (the daemon's ``store.opened``)."""
    began = time.perf_counter()
    store = open_store()
    took = time.perf_counter() - began
    store.close()
    return took


def measure_reindex(store: VectorStore, maker: LibraryMaker, n: int, count: int) -> dict[str, Any]:
    """``count`` more points whose vectors are reused (a re-index under new ids), through the adapter."""
    upsert_s = 0.0
    for start in range(0, count, 2000):
        size = min(2000, count - start)
        facts = [
            FileFacts(path=f"{maker.root}/reindexed/{i:07d}.jpg", root=maker.root, size=8, mtime_ns=i, inode=10**9 + i)
            for i in range(start, start + size)
        ]
        points = maker.points(start % max(1, n - size), facts, ids=[point_id(maker.host_id, f.path) for f in facts])
        began = time.perf_counter()
        store.upsert(points)
        upsert_s += time.perf_counter() - began
    began = time.perf_counter()
    store.flush()
    upsert_s += time.perf_counter() - began
    return {"points": count, "seconds": round(upsert_s, 2), "points_per_s": round(count / upsert_s)}


def disk_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while counting
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, help="photos (default 1,000,000; quick 20,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 photos, a tiny model, short waits")
    parser.add_argument("--url", help="a Qdrant server or cluster instead of the embedded store")
    parser.add_argument("--queries", type=int, help="queries per latency row (default 200; quick 30)")
    parser.add_argument("--drops", type=int, help="photos dropped for drop → searchable (default 20; quick 5)")
    parser.add_argument("--similar-timeout", type=float, help="seconds to wait for similar groups (default 900)")
    parser.add_argument("--map-timeout", type=float, help="seconds to wait for the first map (default 600)")
    parser.add_argument("--ttl", type=float, help="model.idle_unload_s (default 30; quick 5)")
    parser.add_argument("--work", type=Path, help="folder for the library (default: a temporary one, removed)")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/scale-<time>.json)")
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.n or (20_000 if quick else 1_000_000)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        },
        "photos": n,
        "model": "tiny CLIP (random weights)" if quick else "ViT-B-32 (random weights), captions deferred",
        "store_backend": args.url or "embedded (qdrant-edge)",
    }
    work = args.work or Path(tempfile.mkdtemp(prefix="photoindex-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        settings = settings_for(work, model_settings(quick, work), idle_unload_s=args.ttl or (5.0 if quick else 30.0))
        settings = msgspec.structs.replace(
            settings, api=ApiSettings(port=free_port()), store=StoreSettings(url=args.url)
        )
        ground = lay_groundwork(settings)
        host_id = load_host_id(ground.paths.data_dir)

        def open_store() -> VectorStore:
            return open_index_store(settings, ground.paths, ground.spec)

        store = open_store()
        maker = LibraryMaker(work / "library", size=n, host_id=host_id, model_id=ground.spec.model_id, dim=store.dim)
        print(f"build: {n:,} files and points", flush=True)
        try:
            built = maker.build(store, n, progress=_progress(n))
            results["build"] = _built(built)
            if isinstance(store, EdgeStore):
                print("index: the daemon's vector index build", flush=True)
                try:
                    results["index_build"] = measure_index_build(store, host_id)
                except StoreError as error:  # the row says why; the store is as it was, searched in full
                    results["index_build"] = {"error": str(error)[-500:]}
            print(f"store: search and recall over {n:,}", flush=True)
            results["store"] = measure_store(store, maker, n, args.queries or (30 if quick else 200))
        finally:
            store.close()
        results["store"]["open_s"] = round(measure_reopen(open_store), 2)
        config = work / "config.toml"
        config.write_text(settings_toml(settings), encoding="utf-8")
        print("serve: a real photoindex serve on the library", flush=True)
        run = ServeRun(
            config=config,
            root=Path(maker.root),
            state_dir=ground.paths.state_dir,
            port=settings.api.port,
            photos=n,
            queries=args.queries or (30 if quick else 200),
            drops=args.drops or (5 if quick else 20),
            drop_size=(640, 480) if quick else (4032, 3024),
            similar_timeout=args.similar_timeout or (240.0 if quick else 900.0),
            map_timeout=args.map_timeout or (300.0 if quick else 600.0),
            ttl=settings.model.idle_unload_s,
        )
        results["serve"] = measure_serve(run)
        disk = {
            "store": disk_bytes(ground.paths.store_dir) if args.url is None else 0,
            "state": disk_bytes(ground.paths.state_dir),
            "cache": disk_bytes(ground.paths.cache_dir),
        }
        results["disk_bytes_per_photo"] = {k: round(v / n) for k, v in disk.items()}
        print(f"re-index: {n // 10:,} points with reused vectors", flush=True)
        store = open_store()
        try:
            results["reindex"] = measure_reindex(store, maker, n, max(1, n // 10))
        finally:
            store.close()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print_table(results)
    out = args.out or REPO / "bench" / "results" / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def _built(built: BuiltLibrary) -> dict[str, Any]:
    return {
        "photos": built.photos,
        "folders": built.folders,
        "files_s": round(built.files_s, 1),
        "points_s": round(built.points_s, 1),
        "upsert_s": round(built.upsert_s, 1),
        "upsert_points_per_s": round(built.upsert_per_s),
    }


def _progress(n: int) -> Any:
    step = max(n // 10, 1)

    def report(done: int) -> None:
        if done % step < 2000 or done == n:
            print(f"  {done:,} / {n:,}", flush=True)

    return report


if __name__ == "__main__":
    sys.exit(main())
