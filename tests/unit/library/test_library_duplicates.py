"""Exact and near grouping over a hand-built snapshot: groups, keepers, low-information hashes."""

from __future__ import annotations

import uuid

import numpy as np

from photoindex.library.captions_index import CaptionIndex
from photoindex.library.duplicates import UnionFind, exact_groups, near_groups
from photoindex.library.snapshot import Snapshot
from photoindex.library.version import LibraryVersion

REAL = 0x0F0F_0F0F_0F0F_0F0F  # 32 bits set, like a real photo's hash


def snapshot(rows: list[dict]) -> Snapshot:
    def col(key: str, default: object, dtype: object) -> np.ndarray:
        return np.array([r.get(key, default) for r in rows], dtype=dtype)

    sha = b"".join(bytes.fromhex(r["sha"].ljust(64, "0")) if r.get("sha") else b"\0" * 32 for r in rows)
    return Snapshot(
        version=LibraryVersion(len(rows), len(rows), 0),
        ids=np.frombuffer(b"".join(uuid.uuid4().bytes for _ in rows), dtype="V16"),
        status=col("status", 0, np.uint8),
        size=col("size", 1000, np.int64),
        width=col("w", 100, np.int32),
        height=col("h", 100, np.int32),
        mtime_ns=col("mtime", 1, np.int64),
        sha256=np.frombuffer(sha, dtype="V32"),
        phash=np.array([r.get("phash", 0) for r in rows], dtype=np.uint64),
        has_phash=np.array(["phash" in r for r in rows], dtype=bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
    )


def test_union_find_sets() -> None:
    sets = UnionFind(6)
    for a, b in [(0, 1), (1, 2), (4, 5)]:
        sets.union(a, b)
    assert sorted(sets.sets()) == [[0, 1, 2], [4, 5]]


def test_exact_groups_by_content_and_keeper_is_largest_then_oldest() -> None:
    snap = snapshot(
        [
            {"sha": "aa", "mtime": 5},
            {"sha": "aa", "mtime": 2},  # the older copy
            {"sha": "bb"},
            {"sha": "cc", "w": 50, "h": 50},
            {"sha": "cc", "w": 200, "h": 100},  # more pixels wins
            {},  # no hash: never grouped
            {},
        ]
    )
    groups = exact_groups(snap)
    assert sorted(g.rows for g in groups) == [(1, 0), (4, 3)]
    reasons = {g.rows[0]: g.keeper_reason for g in groups}
    assert reasons == {1: "oldest copy", 4: "largest resolution"}
    assert all(g.reclaimable_bytes == 1000 for g in groups)


def test_near_groups_chain_within_threshold_and_skip_flat_hashes() -> None:
    snap = snapshot(
        [
            {"sha": "01", "phash": REAL},
            {"sha": "02", "phash": REAL ^ 0b111},  # 3 bits away
            {"sha": "03", "phash": REAL ^ 0b111 ^ (0b1111 << 20)},  # 4 more: chained through row 1
            {"sha": "04", "phash": ~REAL & 0xFFFF_FFFF_FFFF_FFFF},  # far away
            {"sha": "05", "phash": 0x8000_0000_0000_0000},  # a flat image: not comparable
            {"sha": "06", "phash": 0x8000_0000_0000_0000},
            {"sha": "07", "phash": REAL ^ (1 << 40)},  # 1 bit from row 0
        ]
    )
    (group,) = near_groups(snap, max_distance=5)
    assert sorted(group.rows) == [0, 1, 2, 6]
    distances = dict(zip(group.rows, group.closeness, strict=True))
    assert distances[group.rows[0]] == 0
    assert near_groups(snap, max_distance=0) == []


def test_near_groups_leave_out_pure_exact_groups_unless_asked() -> None:
    snap = snapshot([{"sha": "aa", "phash": REAL}, {"sha": "aa", "phash": REAL}])
    assert near_groups(snap) == []
    (group,) = near_groups(snap, include_exact=True)
    assert len(group.rows) == 2
