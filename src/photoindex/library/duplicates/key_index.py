"""Rows by a uint64 key (a hash, or a chunk of one), sorted once and then kept up to date per change.

A sorted key column with its rows answers "which rows hold key k" with a
binary search. Rebuilding it costs a sort of every row; a change of a few
rows instead drops their entries and inserts the new ones (a copy of the
arrays, no sort), so an update costs milliseconds at a million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoindex.library.duplicates.snapshot_diff import SnapshotDiff


@dataclass(frozen=True)
class KeyIndex:
    """``rows[i]`` holds ``keys[i]``; ``keys`` ascending."""

    keys: np.ndarray  # uint64
    rows: np.ndarray  # int64

    @classmethod
    def build(cls, keys: np.ndarray, rows: np.ndarray) -> KeyIndex:
        order = np.argsort(keys, kind="stable")
        return cls(keys[order].astype(np.uint64), rows[order].astype(np.int64))

    def updated(self, diff: SnapshotDiff, added_rows: np.ndarray, added_keys: np.ndarray) -> KeyIndex:
        """The index over the new snapshot: entries of carried rows renumbered, the new rows' entries inserted."""
        moved = diff.old_to_new[self.rows]
        keep = moved >= 0
        keys, rows = self.keys[keep], moved[keep]
        order = np.argsort(added_keys, kind="stable")
        new_keys = added_keys[order].astype(np.uint64)
        at = np.searchsorted(keys, new_keys)
        return KeyIndex(np.insert(keys, at, new_keys), np.insert(rows, at, added_rows[order].astype(np.int64)))

    def rows_of(self, values: np.ndarray) -> np.ndarray:
        """Every row whose key is one of ``values`` (each value once)."""
        values = np.asarray(values, dtype=np.uint64)
        low = np.searchsorted(self.keys, values, side="left")
        high = np.searchsorted(self.keys, values, side="right")
        counts = high - low
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        found: np.ndarray = self.rows[np.repeat(low, counts) + offsets]
        return found


__all__ = ["KeyIndex"]
