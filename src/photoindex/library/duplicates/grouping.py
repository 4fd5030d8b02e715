"""Union-find over snapshot rows, duplicate groups, and which copy to keep."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from photoindex.indexer.status import PhotoStatus
from photoindex.library.snapshot import STATUS_CODES, Snapshot


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self._parent = list(range(n))
        self._size = [1] * n

    def find(self, x: int) -> int:
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]

    def union_pairs(self, pairs: np.ndarray) -> None:
        for a, b in pairs.tolist():
            self.union(a, b)

    def sets(self, members: Iterable[int] | None = None) -> list[list[int]]:
        """Every set of two or more (restricted to ``members`` when given), each sorted."""
        groups: dict[int, list[int]] = {}
        for x in range(len(self._parent)) if members is None else members:
            groups.setdefault(self.find(x), []).append(x)
        return [sorted(g) for g in groups.values() if len(g) > 1]


@dataclass(frozen=True)
class DuplicateGroup:
    """Rows that are copies of one photo, keeper first, with a per-member measure of closeness."""

    rows: tuple[int, ...]
    closeness: tuple[float, ...]  # per row: Hamming bits to the keeper (near), best similarity (similar), 0 (exact)
    keeper_reason: str
    reclaimable_bytes: int  # what deleting every copy but the keeper frees


_INDEXED = STATUS_CODES[PhotoStatus.INDEXED]


def keeper_order(snapshot: Snapshot, rows: list[int]) -> list[int]:
    """Rows best-first: most pixels, then indexed, then largest file, then oldest, then first seen."""
    s = snapshot
    return sorted(
        rows,
        key=lambda r: (
            -int(s.width[r]) * int(s.height[r]),
            int(s.status[r]) != _INDEXED,
            -int(s.size[r]),
            int(s.mtime_ns[r]) or 1 << 62,
            r,
        ),
    )


def keeper_reason(snapshot: Snapshot, ordered: list[int]) -> str:
    """Why the first of ``ordered`` was preferred over the runner-up."""
    s = snapshot
    best, second = ordered[0], ordered[1]
    if int(s.width[best]) * int(s.height[best]) > int(s.width[second]) * int(s.height[second]):
        return "largest resolution"
    if s.status[best] == _INDEXED and s.status[second] != _INDEXED:
        return "indexed"
    if s.size[best] > s.size[second]:
        return "largest file"
    if 0 < s.mtime_ns[best] < s.mtime_ns[second]:
        return "oldest copy"
    return "first found"


def make_group(snapshot: Snapshot, rows: list[int], closeness: dict[int, float] | None = None) -> DuplicateGroup:
    ordered = keeper_order(snapshot, rows)
    measure = closeness or {}
    reclaimable = int(snapshot.size[ordered[1:]].sum()) if len(ordered) > 1 else 0
    return DuplicateGroup(
        rows=tuple(ordered),
        closeness=tuple(float(measure.get(r, 0.0)) for r in ordered),
        keeper_reason=keeper_reason(snapshot, ordered),
        reclaimable_bytes=reclaimable,
    )


def one_content(snapshot: Snapshot, rows: list[int]) -> bool:
    """True when every row holds the same bytes (an exact group, nothing 'near' about it)."""
    first = snapshot.sha256[rows[0]]
    return bool(np.all(snapshot.sha256[rows] == first)) and first.tobytes() != b"\0" * 32


def ranked(groups: list[DuplicateGroup]) -> list[DuplicateGroup]:
    """Most space to reclaim first, then larger groups; stable for paging."""
    return sorted(groups, key=lambda g: (-g.reclaimable_bytes, -len(g.rows), g.rows[0]))


__all__ = ["DuplicateGroup", "UnionFind", "keeper_order", "keeper_reason", "make_group", "one_content", "ranked"]
