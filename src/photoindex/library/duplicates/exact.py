"""Exact duplicates: photos whose files hold the same bytes (equal SHA-256), grouped from the snapshot."""

from __future__ import annotations

import numpy as np

from photoindex.library.duplicates.grouping import DuplicateGroup, make_group, ranked
from photoindex.library.snapshot import Snapshot

_NO_SHA = np.frombuffer(b"\0" * 32, dtype="V32")[0]


def exact_groups(snapshot: Snapshot) -> list[DuplicateGroup]:
    """Every set of two or more photos with equal content hashes, most reclaimable space first."""
    known = np.flatnonzero(snapshot.sha256 != _NO_SHA)
    if known.size < 2:
        return []
    _values, inverse, counts = np.unique(snapshot.sha256[known], return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    boundaries = np.cumsum(counts)[:-1]
    groups = [make_group(snapshot, known[block].tolist()) for block in np.split(order, boundaries) if block.size > 1]
    return ranked(groups)


__all__ = ["exact_groups"]
