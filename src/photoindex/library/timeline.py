"""The library in taken-date order, paged by cursor, computed from the snapshot's columns.

The timeline asks for every photo (below a folder, within a date range) newest
or oldest first. Reading that from the store would scroll the whole library
per page; instead the snapshot's columns are sorted once per snapshot and
order (cached), and each page is a mask and a binary search over them.

The order is total: taken time (unknown dates last, in either direction),
then the photo id. A cursor names the last photo served by that key, so a
photo added or removed between two pages moves no other across the boundary.
"""

from __future__ import annotations

import posixpath
import uuid
import weakref
from dataclasses import dataclass
from typing import Literal

import numpy as np

from photoindex.indexer.status import PhotoStatus
from photoindex.library.snapshot import STATUS_CODES, Snapshot

Order = Literal["desc", "asc"]
_INDEXED = STATUS_CODES[PhotoStatus.INDEXED]


@dataclass(frozen=True)
class TimelineQuery:
    """What a listing is restricted to; ``None`` fields do not restrict."""

    order: Order = "desc"
    folder: str | None = None  # photos anywhere below this absolute folder
    taken_from_ts: float | None = None  # inclusive
    taken_to_ts: float | None = None  # exclusive


@dataclass(frozen=True)
class TimelinePage:
    """One page: the photo ids in order, the key of the last one, and how many match in all."""

    ids: list[str]
    last_key: tuple[float, str] | None
    more: bool
    total: int


@dataclass(frozen=True)
class _Sorted:
    perm: np.ndarray  # rows in listing order
    key: np.ndarray  # float64 sort key of each sorted row (inf: unknown date)
    hi: np.ndarray  # uint64, the id's first 8 bytes, big-endian, of each sorted row
    lo: np.ndarray  # uint64, its last 8 bytes


class Timeline:
    """Pages of the library by taken date; one sorted index per (snapshot, order), kept while the snapshot lives."""

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Snapshot, dict[str, _Sorted]] = weakref.WeakKeyDictionary()

    def page(
        self, snapshot: Snapshot, query: TimelineQuery, *, after: tuple[float, str] | None, limit: int
    ) -> TimelinePage:
        """Up to ``limit`` photos after the key ``after`` (``None``: from the start)."""
        index = self._sorted(snapshot, query.order)
        allowed = _mask(snapshot, query)[index.perm]
        start = 0 if after is None else _position_after(index, after)
        hits = np.flatnonzero(allowed[start:])[: limit + 1] + start
        more = len(hits) > limit
        hits = hits[:limit]
        ids = snapshot.point_ids(index.perm[hits])
        last = None
        if len(hits):
            last = (float(index.key[hits[-1]]), ids[-1])
        return TimelinePage(ids, last, more, int(np.count_nonzero(allowed)))

    def _sorted(self, snapshot: Snapshot, order: Order) -> _Sorted:
        per_order = self._cache.setdefault(snapshot, {})
        found = per_order.get(order)
        if found is None:
            found = per_order[order] = _sort(snapshot, order)
        return found


def sort_value(taken_ts: float | None, order: Order) -> float:
    """The sort key of a taken time: ascending in listing order, unknown dates last."""
    if taken_ts is None or np.isnan(taken_ts):
        return float("inf")
    return -taken_ts if order == "desc" else taken_ts


def _sort(snapshot: Snapshot, order: Order) -> _Sorted:
    taken = snapshot.taken_ts if snapshot.taken_ts is not None else np.full(len(snapshot), np.nan)
    key = np.where(np.isnan(taken), np.inf, -taken if order == "desc" else taken)
    halves = snapshot.ids.view(">u8").reshape(-1, 2).astype(np.uint64)
    hi, lo = halves[:, 0], halves[:, 1]
    perm = np.lexsort((lo, hi, key))
    return _Sorted(perm, key[perm], hi[perm], lo[perm])


def _position_after(index: _Sorted, after: tuple[float, str]) -> int:
    """The first sorted position whose (key, id) comes after ``after``: binary searches, no scan."""
    key, point_id = after
    halves = np.frombuffer(uuid.UUID(point_id).bytes, dtype=">u8").astype(np.uint64)
    left = int(np.searchsorted(index.key, key, side="left"))
    right = int(np.searchsorted(index.key, key, side="right"))
    hi_left = left + int(np.searchsorted(index.hi[left:right], halves[0], side="left"))
    hi_right = left + int(np.searchsorted(index.hi[left:right], halves[0], side="right"))
    return hi_left + int(np.searchsorted(index.lo[hi_left:hi_right], halves[1], side="right"))


def _mask(snapshot: Snapshot, query: TimelineQuery) -> np.ndarray:
    """Rows (in snapshot order) of indexed photos that meet the query's conditions."""
    mask: np.ndarray = snapshot.status == _INDEXED
    if query.folder is not None and snapshot.dir_code is not None:
        folder = posixpath.normpath(query.folder)
        below = folder.rstrip("/") + "/"
        inside = np.array([d == folder or d.startswith(below) for d in snapshot.dir_names] or [False], dtype=bool)
        mask &= inside[snapshot.dir_code]
    if snapshot.taken_ts is not None:
        if query.taken_from_ts is not None:
            mask &= snapshot.taken_ts >= query.taken_from_ts
        if query.taken_to_ts is not None:
            mask &= snapshot.taken_ts < query.taken_to_ts
    return mask


__all__ = ["Order", "Timeline", "TimelinePage", "TimelineQuery", "sort_value"]
