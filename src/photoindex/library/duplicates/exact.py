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
    # Sorting a million 8-byte prefixes is quick; only rows sharing one are compared in full (32 bytes).
    raw = np.ascontiguousarray(snapshot.sha256[known]).view(np.uint8).reshape(-1, 32)[:, :8]
    prefixes = np.ascontiguousarray(raw).view(">u8").ravel()
    _values, prefix_of, prefix_counts = np.unique(prefixes, return_inverse=True, return_counts=True)
    shared = known[prefix_counts[prefix_of.ravel()] > 1]
    if shared.size < 2:
        return []
    _values, inverse, counts = np.unique(snapshot.sha256[shared], return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    copies = counts[inverse] > 1
    rows, labels = shared[copies], inverse[copies]
    order = np.argsort(labels, kind="stable")
    rows, labels = rows[order], labels[order]
    blocks = np.split(rows, np.flatnonzero(np.diff(labels)) + 1) if rows.size else []
    return ranked([make_group(snapshot, block.tolist()) for block in blocks])


__all__ = ["exact_groups"]
