"""Exact duplicate groups kept up to date per change: a new, changed or removed photo touches only its hash's group.

The first computation is ``exact_groups``'s (one sort of the content hashes).
After that each new snapshot is compared with the last (``snapshot_diff``):
the groups of hashes no changed row held or holds are carried over
renumbered, and only the touched hashes are grouped again, found through a
``KeyIndex`` on the hash's first eight bytes.
"""

from __future__ import annotations

import numpy as np

from photoindex.library.duplicates.exact import exact_groups
from photoindex.library.duplicates.grouping import DuplicateGroup, make_group
from photoindex.library.duplicates.key_index import KeyIndex
from photoindex.library.duplicates.renumber import renumbered
from photoindex.library.duplicates.snapshot_diff import snapshot_diff
from photoindex.library.snapshot import Snapshot

_NO_SHA = np.frombuffer(b"\0" * 32, dtype="V32")[0]
# Beyond this share of the library changed at once, grouping from scratch costs less than per hash.
REBUILD_SHARE = 0.25


def _prefixes(snapshot: Snapshot, rows: np.ndarray) -> np.ndarray:
    """The first eight bytes of each row's content hash, as a uint64 key."""
    raw = np.ascontiguousarray(snapshot.sha256[rows]).view(np.uint8).reshape(-1, 32)[:, :8]
    keys: np.ndarray = np.ascontiguousarray(raw).view(">u8").ravel().astype(np.uint64)
    return keys


def _known(snapshot: Snapshot, rows: np.ndarray) -> np.ndarray:
    selected: np.ndarray = rows[snapshot.sha256[rows] != _NO_SHA]
    return selected


class LiveExactGroups:
    """Groups of equal content hashes over the latest snapshot it was given."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._build(snapshot)

    def _build(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        known = _known(snapshot, np.arange(len(snapshot)))
        self._index = KeyIndex.build(_prefixes(snapshot, known), known)
        self._groups: dict[bytes, DuplicateGroup] = {
            snapshot.sha256[g.rows[0]].tobytes(): g for g in exact_groups(snapshot)
        }

    @property
    def groups(self) -> list[DuplicateGroup]:
        return list(self._groups.values())

    def update(self, snapshot: Snapshot) -> None:
        """Bring the groups to ``snapshot``, regrouping only the hashes a changed row held or holds."""
        old = self.snapshot
        diff = snapshot_diff(old, snapshot)
        if diff is None or diff.size > max(256, REBUILD_SHARE * len(snapshot)):
            self._build(snapshot)
            return
        removed = _known(old, diff.removed)
        added = _known(snapshot, diff.added)
        touched = {v.tobytes() for v in old.sha256[removed]} | {v.tobytes() for v in snapshot.sha256[added]}
        carried = {sha: g for sha, g in self._groups.items() if sha not in touched}
        self._groups = renumbered(carried, diff.old_to_new)
        self._index = self._index.updated(diff, added, _prefixes(snapshot, added))
        self.snapshot = snapshot
        for sha in touched:
            prefix = np.frombuffer(sha[:8], dtype=">u8").astype(np.uint64)
            rows = self._index.rows_of(prefix)
            members = rows[snapshot.sha256[rows] == np.frombuffer(sha, dtype="V32")[0]]
            if members.size > 1:
                self._groups[sha] = make_group(snapshot, sorted(members.tolist()))


__all__ = ["LiveExactGroups"]
