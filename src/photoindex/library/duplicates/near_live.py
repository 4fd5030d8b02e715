"""Near duplicate groups kept up to date per change: a new photo's hash is looked up, not the library regrouped.

The first computation is ``near_components``'s (multi-index hashing over the
whole library). After that each new snapshot is compared with the last
(``snapshot_diff``):

- a group a changed or removed photo belonged to is grouped again from its
  remaining members only (groups are closed: no verified pair links a member
  to a photo outside it, so nothing outside can join);
- each new or changed photo looks its hash up in four ``KeyIndex`` tables,
  one per 16-bit chunk, under every flip mask of at most ⌊k/4⌋ bits (the
  pigeonhole principle of ``near``), and joins the groups of the candidates
  within k bits whose fingerprints say "the same shot", as a from-scratch
  computation would have chained them.

Groups are the connected components of the graph of verified pairs, so the
result is the same as grouping the new snapshot from scratch.
"""

from __future__ import annotations

import numpy as np

from photoindex.library.duplicates.grouping import DuplicateGroup, one_content
from photoindex.library.duplicates.key_index import KeyIndex
from photoindex.library.duplicates.near import (
    CHUNK_BITS,
    CHUNKS,
    MAX_SET_BITS,
    MIN_SET_BITS,
    Fingerprints,
    comparable,
    flip_masks,
    near_components,
    near_group,
    popcount,
)
from photoindex.library.duplicates.renumber import renumbered
from photoindex.library.duplicates.snapshot_diff import SnapshotDiff, snapshot_diff
from photoindex.library.duplicates.verify import same_shot
from photoindex.library.snapshot import Snapshot

# Beyond this share of the library changed at once, grouping from scratch costs less than per photo.
REBUILD_SHARE = 0.05
_CHUNK_MASK = np.uint64((1 << CHUNK_BITS) - 1)
_NONE = -1


def _chunk(hashes: np.ndarray, chunk: int) -> np.ndarray:
    values: np.ndarray = (hashes >> np.uint64(chunk * CHUNK_BITS)) & _CHUNK_MASK
    return values


class LiveNearGroups:
    """Groups of photos within ``max_distance`` bits (verified by fingerprint) over the latest snapshot given."""

    snapshot: Snapshot
    _tables: list[KeyIndex]  # per 16-bit chunk of the hash: the comparable rows by that chunk's value
    _component: np.ndarray  # int64 per row: the key of its group in ``_groups``; -1: in none
    _groups: dict[int, DuplicateGroup]
    _exact_only: dict[int, bool]  # per group: all members hold the same bytes
    _next_id: int

    def __init__(self, snapshot: Snapshot, max_distance: int, fingerprints: Fingerprints | None) -> None:
        self.max_distance = max_distance
        self._masks = flip_masks(CHUNK_BITS, max_distance // CHUNKS)
        self._build(snapshot, fingerprints)

    def groups(self, *, include_exact: bool) -> list[DuplicateGroup]:
        """The groups of two or more; those whose members all hold the same bytes only with ``include_exact``."""
        return [g for key, g in self._groups.items() if include_exact or not self._exact_only[key]]

    def update(self, snapshot: Snapshot, fingerprints: Fingerprints | None) -> None:
        """Bring the groups to ``snapshot``: regroup the groups that lost a member, then join each new photo."""
        diff = snapshot_diff(self.snapshot, snapshot)
        if diff is None or diff.size > max(256, REBUILD_SHARE * len(snapshot)):
            self._build(snapshot, fingerprints)
            return
        old_component = self._component
        broken = {int(c) for c in old_component[diff.removed].tolist() if c != _NONE}
        broken_groups = [self._groups[c] for c in broken]
        carried = {key: g for key, g in self._groups.items() if key not in broken}
        self._groups = renumbered(carried, diff.old_to_new)
        self._exact_only = {key: self._exact_only[key] for key in self._groups}
        self._component = self._carried_components(diff, snapshot, broken)
        added = diff.added[comparable_rows(snapshot, diff.added)]
        self._tables = [
            table.updated(diff, added, _chunk(snapshot.phash[added], chunk)) for chunk, table in enumerate(self._tables)
        ]
        self.snapshot = snapshot
        for group in broken_groups:
            remaining = diff.old_to_new[list(group.rows)]
            remaining = np.sort(remaining[remaining >= 0])
            for members in near_components(snapshot, remaining, self.max_distance, fingerprints):
                self._add_group(members)
        for row in added.tolist():
            self._join(row, fingerprints)

    def _build(self, snapshot: Snapshot, fingerprints: Fingerprints | None) -> None:
        self.snapshot = snapshot
        rows = comparable(snapshot)
        self._tables = [KeyIndex.build(_chunk(snapshot.phash[rows], chunk), rows) for chunk in range(CHUNKS)]
        self._component = np.full(len(snapshot), _NONE, dtype=np.int64)
        self._groups = {}
        self._exact_only = {}
        self._next_id = 0
        for members in near_components(snapshot, rows, self.max_distance, fingerprints):
            self._add_group(members)

    def _carried_components(self, diff: SnapshotDiff, snapshot: Snapshot, broken: set[int]) -> np.ndarray:
        """Each new row's group id: carried rows keep theirs (but members of a broken group), others none."""
        component = np.full(len(snapshot), _NONE, dtype=np.int64)
        kept = np.flatnonzero(diff.old_to_new >= 0)
        values = self._component[kept]
        if broken:
            values = np.where(np.isin(values, np.fromiter(broken, dtype=np.int64)), _NONE, values)
        component[diff.old_to_new[kept]] = values
        return component

    def _add_group(self, members: list[int]) -> int:
        key = self._next_id
        self._next_id += 1
        group = near_group(self.snapshot, members)
        self._groups[key] = group
        self._exact_only[key] = one_content(self.snapshot, list(group.rows))
        self._component[list(group.rows)] = key
        return key

    def _members(self, row: int) -> list[int]:
        key = int(self._component[row])
        return [row] if key == _NONE else list(self._groups[key].rows)

    def _merge(self, a: int, b: int) -> None:
        """One group of the groups of rows ``a`` and ``b`` (each maybe alone so far)."""
        members = sorted(set(self._members(a)) | set(self._members(b)))
        for key in {int(self._component[a]), int(self._component[b])} - {_NONE}:
            del self._groups[key], self._exact_only[key]
        self._add_group(members)

    def _candidates(self, row: int) -> np.ndarray:
        """Comparable rows within ``max_distance`` bits of ``row`` (itself left out), via the chunk tables."""
        value = np.uint64(self.snapshot.phash[row])
        found = [
            table.rows_of(_chunk(np.array([value]), chunk) ^ self._masks) for chunk, table in enumerate(self._tables)
        ]
        rows = np.unique(np.concatenate(found))
        rows = rows[rows != row]
        close: np.ndarray = rows[popcount(self.snapshot.phash[rows] ^ value) <= self.max_distance]
        return close

    def _join(self, row: int, fingerprints: Fingerprints | None) -> None:
        """Chain ``row`` to every group holding a candidate of the same shot, as a full grouping would."""
        candidates = self._candidates(row)
        if candidates.size == 0:
            return
        s = self.snapshot
        same_content = (s.phash[candidates] == s.phash[row]) & (s.sha256[candidates] == s.sha256[row])
        for other in candidates[same_content].tolist():
            if self._component[other] == _NONE or self._component[other] != self._component[row]:
                self._merge(row, other)
        others = candidates[~same_content].tolist()
        if not others:
            return
        prints: dict[int, bytes | None] = {}
        if fingerprints is not None:
            prints = dict(zip([row, *others], fingerprints([row, *others]), strict=True))
        for other in others:
            if self._component[other] != _NONE and self._component[other] == self._component[row]:
                continue  # already chained through another candidate
            if fingerprints is None or same_shot(prints[row], prints[other]):
                self._merge(row, other)


def comparable_rows(snapshot: Snapshot, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` (a boolean mask over them) have a present, informative perceptual hash."""
    bits = popcount(snapshot.phash[rows])
    selected: np.ndarray = snapshot.has_phash[rows] & (bits >= MIN_SET_BITS) & (bits <= MAX_SET_BITS)
    return selected


__all__ = ["LiveNearGroups"]
