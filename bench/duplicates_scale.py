"""Duplicate grouping at scale: exact and near groups over N synthetic snapshot rows, first answer and per change.

    PYTHONPATH=src .venv/bin/python bench/duplicates_scale.py --n 100000
    PYTHONPATH=src .venv/bin/python bench/duplicates_scale.py --n 1000000

Rows as ``bench/scale_library.py`` writes them: random perceptual hashes with
32 bits set, 2 % byte-identical copies, 2 % re-encoded copies (hash two bits
off, same fingerprint), random fingerprints otherwise. The snapshot is built
in memory (no store): what is measured is the grouping, from scratch and per
new photo, and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from photoindex.library.captions_index import CaptionIndex
from photoindex.library.snapshot import Snapshot
from photoindex.library.version import LibraryVersion

COPY_SHARE = 0.02
NEAR_SHARE = 0.02
FINGERPRINT_BYTES = 1024


def random_phashes(rng: np.random.Generator, n: int) -> np.ndarray:
    """64-bit hashes with 32 bits set, as a real photo's DCT median split gives."""
    out = np.empty(n, dtype=np.uint64)
    weights = np.uint64(1) << np.arange(64, dtype=np.uint64)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        order = np.argsort(rng.random((m, 64)), axis=1)[:, :32]
        bits = np.zeros((m, 64), dtype=np.uint64)
        np.put_along_axis(bits, order, 1, axis=1)
        out[start : start + m] = (bits * weights).sum(axis=1, dtype=np.uint64)
    return out


class SyntheticLibrary:
    """N rows with known copies; ``fingerprint(row)`` is derived from the row's shot, so copies agree."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.shot = np.arange(n, dtype=np.int64)
        copies = rng.random(n)
        exact = (copies < COPY_SHARE) & (np.arange(n) > 0)
        near = (copies >= COPY_SHARE) & (copies < COPY_SHARE + NEAR_SHARE) & (np.arange(n) > 0)
        originals = (rng.random(n) * np.arange(n)).astype(np.int64)
        self.shot[exact | near] = originals[exact | near]
        self.shot = self.shot[self.shot]  # a copy of a copy is a copy of the first
        phash = random_phashes(rng, n)
        self.phash = phash[self.shot]
        flips = (np.uint64(1) << rng.integers(0, 64, n).astype(np.uint64)) ^ (
            np.uint64(1) << rng.integers(0, 64, n).astype(np.uint64)
        )
        self.phash[near] ^= flips[near]
        content = np.where(exact, self.shot, np.arange(n))
        sha = rng.bytes(32 * n)
        sha_rows = np.frombuffer(sha, dtype="V32")
        self.sha256 = sha_rows[content]
        ids = np.frombuffer(rng.bytes(16 * n), dtype="V16")
        halves = ids.view(">u8").reshape(-1, 2)
        order = np.lexsort((halves[:, 1], halves[:, 0]))
        self.ids = ids[order]
        self.phash, self.sha256, self.shot = self.phash[order], self.sha256[order], self.shot[order]
        self.size = rng.integers(1_000_000, 9_000_000, n).astype(np.int64)
        self.mtime_ns = rng.integers(1, 10**18, n).astype(np.int64)
        self.width = np.full(n, 4000, dtype=np.int32)
        self.height = np.full(n, 3000, dtype=np.int32)

    def snapshot(self, rows: np.ndarray | None = None, version: int = 0) -> Snapshot:
        take = np.arange(self.n) if rows is None else rows
        return Snapshot(
            version=LibraryVersion(photos=len(take), indexed=len(take), captioned=0, generation=version),
            ids=self.ids[take],
            status=np.zeros(len(take), dtype=np.uint8),
            size=self.size[take],
            width=self.width[take],
            height=self.height[take],
            mtime_ns=self.mtime_ns[take],
            sha256=self.sha256[take],
            phash=self.phash[take],
            has_phash=np.ones(len(take), dtype=bool),
            captions=CaptionIndex.builder().build(),
            last_indexed_at=None,
            taken_s=0.0,
        )

    def fingerprints(self, snapshot: Snapshot) -> Callable[[Sequence[int]], list[bytes | None]]:
        """Fingerprints of a snapshot's rows: one random image per shot (copies share their shot's)."""
        shot_of = dict(zip(self.ids.tobytes()[i * 16 : i * 16 + 16] for i in range(0)))  # placeholder
        del shot_of
        position = np.searchsorted(
            self.ids.view(">u8").reshape(-1, 2)[:, 0], snapshot.ids.view(">u8").reshape(-1, 2)[:, 0]
        )

        def read(rows: Sequence[int]) -> list[bytes | None]:
            return [np.random.default_rng(int(self.shot[position[r]])).bytes(FINGERPRINT_BYTES) for r in rows]

        return read


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, run: Callable[[], object], results: dict[str, object]) -> object:
    started = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - started
    results[label] = round(seconds, 3)
    print(f"{label:<40} {seconds:9.3f} s   peak RSS {peak_rss_mb():8.0f} MB", flush=True)
    return value


def measure(library: SyntheticLibrary, kinds: list[str], results: dict[str, object]) -> None:
    """First answer over all but the last three rows, then one new photo, one removed, one changed, each timed."""
    from photoindex.library.duplicates.live import LiveGroups

    n = library.n
    # The last row becomes a re-encoded copy of row 0 (same shot, two bits off): it joins a near group.
    library.phash[n - 1] = library.phash[0] ^ np.uint64(0b101)
    library.shot[n - 1] = library.shot[0]
    steps = {
        "first answer": np.arange(n - 3),
        "after a new photo": np.arange(n - 2),
        "after a new near copy": np.concatenate([np.arange(n - 2), [n - 1]]),
        "after a removed photo": np.concatenate([np.arange(1, n - 2), [n - 1]]),
    }
    live = LiveGroups()
    for step, rows in enumerate(steps.items()):
        label, take = rows
        snapshot = library.snapshot(np.sort(take), version=step)
        prints = library.fingerprints(snapshot)
        if "exact" in kinds:
            groups = timed(f"exact, {label}", lambda s=snapshot: live.exact(s), results)
            assert isinstance(groups, list)
            results[f"exact groups, {label}"] = len(groups)
        if "near" in kinds:
            groups = timed(
                f"near, {label}",
                lambda s=snapshot, p=prints: live.near(s, max_distance=10, include_exact=False, fingerprints=p),
                results,
            )
            assert isinstance(groups, list)
            results[f"near groups, {label}"] = len(groups)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--kinds", default="exact,near")
    parser.add_argument("--from-scratch", action="store_true", help="also time the non-incremental functions")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results: dict[str, object] = {"n": args.n}
    library = timed("build synthetic rows", lambda: SyntheticLibrary(args.n), results)
    assert isinstance(library, SyntheticLibrary)
    kinds = args.kinds.split(",")
    if args.from_scratch:
        from photoindex.library.duplicates import exact_groups, near_groups

        snapshot = library.snapshot()
        if "exact" in kinds:
            timed("exact_groups from scratch", lambda: exact_groups(snapshot), results)
        if "near" in kinds:
            prints = library.fingerprints(snapshot)
            timed("near_groups from scratch", lambda: near_groups(snapshot, fingerprints=prints), results)
    measure(library, kinds, results)
    results["peak_rss_mb"] = round(peak_rss_mb())
    print(json.dumps(results, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
