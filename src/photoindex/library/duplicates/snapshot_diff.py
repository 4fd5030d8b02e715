"""What changed between two snapshots of one library, row by row: the base of incremental duplicate groups.

Both snapshots hold their rows in point-id order (the order a scroll returns
them in, kept by ``snapshot_update``), so matching a row to its successor is a
binary search on the id's first eight bytes; no dict over every photo. A row
whose grouping fields moved (content hash, perceptual hash, size, pixels,
time, status) counts as removed and added again: every duplicate kind then
treats it as a new photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoindex.library.snapshot import Snapshot

# The columns a duplicate group depends on (membership and which copy is kept).
_GROUPING_COLUMNS = ("sha256", "phash", "has_phash", "size", "width", "height", "mtime_ns", "status")


@dataclass(frozen=True)
class SnapshotDiff:
    """Rows of ``old`` carried to ``new`` unchanged, and what came and went."""

    old_to_new: np.ndarray  # int64 per old row: its row in the new snapshot; -1 when gone or changed
    removed: np.ndarray  # int64 old rows gone or changed
    added: np.ndarray  # int64 new rows that are new or changed

    @property
    def size(self) -> int:
        return int(self.removed.size + self.added.size)


def id_keys(snapshot: Snapshot) -> np.ndarray | None:
    """Each row's id prefix as a big-endian uint64, or None unless they are strictly increasing (point-id order)."""
    ids = np.ascontiguousarray(snapshot.ids)
    keys: np.ndarray = ids.view(">u8").reshape(-1, 2)[:, 0].astype(np.uint64)
    if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        return None  # not in id order, or two ids share a prefix: the caller recomputes instead
    return keys


def snapshot_diff(old: Snapshot, new: Snapshot) -> SnapshotDiff | None:
    """How ``new`` differs from ``old``; None when their rows are not in point-id order."""
    old_keys, new_keys = id_keys(old), id_keys(new)
    if old_keys is None or new_keys is None:
        return None
    if new_keys.size == 0:
        return SnapshotDiff(np.full(len(old), -1, dtype=np.int64), np.arange(len(old)), np.zeros(0, dtype=np.int64))
    position = np.minimum(np.searchsorted(new_keys, old_keys), new_keys.size - 1)
    same = new_keys[position] == old_keys
    for name in _GROUPING_COLUMNS:
        before, after = getattr(old, name), getattr(new, name)
        same &= before == after[position]
    old_to_new = np.where(same, position, -1).astype(np.int64)
    carried = np.zeros(len(new), dtype=bool)
    carried[position[same]] = True
    return SnapshotDiff(old_to_new, np.flatnonzero(~same).astype(np.int64), np.flatnonzero(~carried).astype(np.int64))


__all__ = ["SnapshotDiff", "id_keys", "snapshot_diff"]
