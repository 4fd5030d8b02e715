"""Carry duplicate groups over to a new snapshot: their rows renumbered in one vectorised pass.

Rows are positions in a snapshot, and a photo added or removed anywhere
shifts the rows after it; a group none of whose members changed keeps its
members, keeper and measures, only under new row numbers. Rows keep their
relative order (both snapshots are in point-id order), so the keeper order,
whose last tie-break is the row, stays as it was.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

import numpy as np

from photoindex.library.duplicates.grouping import DuplicateGroup

K = TypeVar("K", bound=Hashable)


def renumbered(groups: Mapping[K, DuplicateGroup], old_to_new: np.ndarray) -> dict[K, DuplicateGroup]:
    """``groups`` under the new snapshot's rows; every member must have been carried over (no -1)."""
    if not groups:
        return {}
    keys = list(groups)
    sizes = [len(groups[k].rows) for k in keys]
    flat = np.fromiter((r for k in keys for r in groups[k].rows), dtype=np.int64, count=sum(sizes))
    moved = old_to_new[flat].tolist()
    out: dict[K, DuplicateGroup] = {}
    start = 0
    for key, size in zip(keys, sizes, strict=True):
        group = groups[key]  # built directly: dataclasses.replace costs several times more per group
        out[key] = DuplicateGroup(
            tuple(moved[start : start + size]), group.closeness, group.keeper_reason, group.reclaimable_bytes
        )
        start += size
    return out


__all__ = ["renumbered"]
