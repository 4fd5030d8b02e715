"""Measure the embedded store: upsert rate, filtered search latency, reopen, start-up scroll.

    .venv/bin/python bench/store.py --points 100000 --dim 512

Random unit vectors and a realistic payload, seeded; the shard goes into a
temporary directory (or --dir) and is removed afterwards unless --keep.
Targets: upsert >= 5k points/s, search p95 <= 20 ms at 100k with a filter,
reopen < 2 s, scroll of every point's state fields in a few seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from photoindex.indexer.store import EdgeStore, GeoBox, PhotoFilter, PhotoPoint, payload_from_dict, point_id

STATE_FIELDS = ("path", "size", "mtime_ns", "inode", "status", "sha256")
MAKES = ("Canon", "Nikon", "Sony", "Apple", "Fujifilm", "OLYMPUS", "Panasonic", "Google")
FORMATS = ("jpeg", "jpeg", "jpeg", "heic", "dng", "png")


def make_points(rng: np.random.Generator, start: int, n: int, dim: int) -> list[PhotoPoint]:
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    points = []
    for k in range(n):
        i = start + k
        path = f"/home/me/Pictures/{2000 + i % 25}/{i % 12 + 1:02d}/{i % 300}/IMG_{i:07d}.jpg"
        payload = {
            "path": path,
            "root": "/home/me/Pictures",
            "size": 2_000_000 + i,
            "mtime_ns": 1_700_000_000_000_000_000 + i,
            "inode": 1_000_000 + i,
            "sha256": f"{i:064x}",
            "phash": f"{i:016x}",
            "status": "indexed",
            "format": FORMATS[i % len(FORMATS)],
            "width": 4000 + i % 3 * 1000,
            "height": 3000,
            "camera_make": MAKES[i % len(MAKES)],
            "camera_model": f"Model {i % 40}",
            "taken_at_ts": 946_684_800.0 + i * 7_000.0,
            "caption_status": "done",
        }
        if i % 3:
            payload["location"] = {"lat": float(rng.uniform(-60, 70)), "lon": float(rng.uniform(-180, 180))}
        points.append(
            PhotoPoint(id=point_id("bench-host", path), payload=payload_from_dict(payload), vector=vectors[k])
        )
    return points


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def search_latencies(
    store: EdgeStore, rng: np.random.Generator, dim: int, flt: PhotoFilter | None, n: int
) -> list[float]:
    out = []
    for _ in range(n):
        q = rng.standard_normal(dim).astype(np.float32)
        started = time.perf_counter()
        store.search(q, limit=24, flt=flt)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimize", action="store_true", help="also measure search after optimize() (slow)")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    base = args.dir or Path(tempfile.mkdtemp(prefix="photoindex-bench-"))
    rng = np.random.default_rng(args.seed)
    rows: list[tuple[str, str]] = []
    try:
        store = EdgeStore.open(base, "bench", args.dim)
        busy = 0.0
        for start in range(0, args.points, args.batch):
            batch = make_points(rng, start, min(args.batch, args.points - start), args.dim)
            started = time.perf_counter()
            store.upsert(batch)
            busy += time.perf_counter() - started
        started = time.perf_counter()
        store.flush()
        busy += time.perf_counter() - started
        rows.append((f"upsert (batches of {args.batch}, + flush)", f"{args.points / busy:,.0f} points/s"))

        filters = {
            "no filter": None,
            "camera_makes + has_gps": PhotoFilter(camera_makes=("Canon", "Sony"), has_gps=True),
            "path_prefix + taken range": PhotoFilter(
                path_prefix="/home/me/Pictures/2010", taken_from_ts=946_684_800.0, taken_to_ts=1_500_000_000.0
            ),
            "geo_box": PhotoFilter(geo_box=GeoBox(min_lat=35.0, max_lat=60.0, min_lon=-10.0, max_lon=30.0)),
        }

        def searches(label: str) -> None:
            for name, flt in filters.items():
                lat = search_latencies(store, rng, args.dim, flt, args.queries)
                rows.append(
                    (f"search {name} ({label})", f"p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms")
                )

        searches("exact")
        started = time.perf_counter()
        n = sum(1 for _ in store.scroll(fields=STATE_FIELDS))
        rows.append((f"scroll {n:,} points, {len(STATE_FIELDS)} fields", f"{time.perf_counter() - started:.2f} s"))
        started = time.perf_counter()
        counted = store.count(filters["camera_makes + has_gps"])
        rows.append((f"count with a filter ({counted:,})", f"{(time.perf_counter() - started) * 1000:.1f} ms"))
        store.close()

        started = time.perf_counter()
        store = EdgeStore.open(base, "bench", args.dim)
        rows.append(("reopen", f"{time.perf_counter() - started:.2f} s"))
        if args.optimize:
            started = time.perf_counter()
            store.optimize()
            rows.append(("optimize (holds the GIL)", f"{time.perf_counter() - started:.1f} s"))
            searches("HNSW")
        store.close()
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(base, ignore_errors=True)

    width = max(len(r[0]) for r in rows)
    print(f"EdgeStore, {args.points:,} points, dim {args.dim}, seed {args.seed}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
