"""Index state micro-benchmark: build time, lookup rate and memory per photo of ``IndexState`` at N photos.

    .venv/bin/python bench/state.py               # 1,000,000 photos
    .venv/bin/python bench/state.py --n 100000

Each photo is a ``KnownFile`` as the store would give it at start-up: a
nested path (year/month/day folders, about 70 characters), a random point
id and content hash, size, mtime and inode, most indexed, a few pending or
failed. Each record is made as it is handed to the state, as ``load`` does
from the store's payloads, so what the state keeps of it is measured:

- build: the time to make and ``remember`` every record;
- memory: what the state holds after the build, as the growth of the
  process's anonymous memory (RssAnon in /proc/self/status) and as the traced
  Python allocations (tracemalloc, on a separate build of 100k), per photo;
- lookups: ``unchanged`` for known paths (what a reconcile asks per file),
  ``path_of`` by point id, and ``indexed_with`` by content hash, per second;
- counts: the time of one ``counts()`` (what a status asks every second).

Prints a table and writes JSON (default ``bench/results/state-<time>.json``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import time
import tracemalloc
import uuid
from pathlib import Path

from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import IndexState, KnownFile

LOOKUPS = 200_000
TRACED = 100_000  # tracemalloc slows a build several times: it traces a build of this many apart


def traced_bytes(n: int) -> int:
    """The Python allocations a state of ``n`` photos holds."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    state = build(n)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del state
    return held


def record(i: int) -> KnownFile:
    """Photo ``i``, made afresh from ``i`` alone (so the state, not the caller, holds its strings)."""
    digest = hashlib.blake2b(i.to_bytes(8, "little"), digest_size=56).digest()
    year, month, day = 2000 + i % 24, 1 + (i // 24) % 12, 1 + (i // 288) % 28
    roll = digest[48]
    status = "indexed" if roll < 248 else ("pending" if roll < 252 else "failed")
    return KnownFile(
        point_id=str(uuid.UUID(bytes=digest[:16], version=4)),
        path=f"/home/someone/Pictures/library/{year}/{month:02d}/{day:02d}/IMG_{i:08d}.jpg",
        root="/home/someone/Pictures/library",
        size=1_000_000 + int.from_bytes(digest[49:52], "little"),
        mtime_ns=1_600_000_000_000_000_000 + int.from_bytes(digest[49:56], "little"),
        inode=1 + int.from_bytes(digest[50:55], "little"),
        status=status,
        sha256=digest[16:48].hex(),
        caption_status="done" if status == "indexed" else None,
        error_code="ERR_TRUNCATED" if status == "failed" else None,
    )


def build(n: int) -> IndexState:
    """A state of ``n`` photos, each record made and handed over as ``IndexState.load`` does."""
    state = IndexState("bench-host")
    for i in range(n):
        state.remember(record(i))
    return state


def rss_anon_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def measure(n: int) -> dict[str, float]:
    traced = traced_bytes(min(n, TRACED))
    gc.collect()
    rss_before = rss_anon_kb()
    started = time.perf_counter()
    state = build(n)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_after = rss_anon_kb()

    rng = random.Random(2)
    sample = [record(rng.randrange(n)) for _ in range(LOOKUPS)]
    facts = [FileFacts(k.path, k.root, k.size, k.mtime_ns, k.inode) for k in sample]
    started = time.perf_counter()
    for f in facts:
        state.unchanged(f, models_available=True)
    unchanged_per_s = LOOKUPS / (time.perf_counter() - started)
    started = time.perf_counter()
    for k in sample:
        state.path_of(k.point_id)
    by_id_per_s = LOOKUPS / (time.perf_counter() - started)
    started = time.perf_counter()
    for k in sample:
        if k.sha256:
            state.indexed_with(k.sha256)
    by_sha_per_s = LOOKUPS / (time.perf_counter() - started)
    started = time.perf_counter()
    state.counts()
    counts_ms = (time.perf_counter() - started) * 1000
    assert len(state) == n
    return {
        "n": n,
        "build_s": round(build_s, 2),
        "traced_bytes_per_photo": round(traced / min(n, TRACED)),
        "rss_anon_bytes_per_photo": round((rss_after - rss_before) * 1024 / n),
        "unchanged_per_s": round(unchanged_per_s),
        "path_of_per_s": round(by_id_per_s),
        "indexed_with_per_s": round(by_sha_per_s),
        "counts_ms": round(counts_ms, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = measure(args.n)
    out = args.out or Path(__file__).parent / "results" / f"state-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
