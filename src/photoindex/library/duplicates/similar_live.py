"""Similar-photo neighbour lists kept per photo, so a new photo costs one vector search, not a rescan.

Each indexed photo's few nearest neighbours (rows and scores, two small numpy
arrays: 65 bytes a photo at eight neighbours) are kept with the snapshot they
belong to. A new snapshot carries the lists over renumbered (a removed
neighbour leaves a hole); a new or changed photo is searched once. The first
pass searches every photo in the background and is resumable: stopped, it
keeps what it found, and the next pass searches only the rest. Groups at any
score threshold come from the lists (union-find over the links above it).

A list is the photo's neighbours as they were when it was searched: a photo
added later is linked by its own search (similarity is symmetric), so a new
photo only falls short of a full rescan where it is not among its own
neighbours' and they not among its top ``NEIGHBOURS`` (a crowd of more than
``NEIGHBOURS`` near-copies).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoFilter, VectorStore
from photoindex.library.duplicates.grouping import DuplicateGroup, UnionFind, make_group, one_content
from photoindex.library.duplicates.snapshot_diff import id_keys, snapshot_diff
from photoindex.library.snapshot import Snapshot

NEIGHBOURS = 8
_INDEXED = PhotoFilter(statuses=(PhotoStatus.INDEXED,))
_PAGE = 256  # vectors read from the store this many photos at a time
_NONE = -1


class LiveSimilarLinks:
    """Each searched photo's nearest neighbours over the latest snapshot given."""

    def __init__(self, snapshot: Snapshot, neighbours: int = NEIGHBOURS) -> None:
        self.neighbours = neighbours
        self._reset(snapshot)

    def _reset(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._links = np.full((len(snapshot), self.neighbours), _NONE, dtype=np.int32)
        self._scores = np.zeros((len(snapshot), self.neighbours), dtype=np.float32)
        self._searched = np.zeros(len(snapshot), dtype=bool)

    def move_to(self, snapshot: Snapshot) -> None:
        """Carry the lists over to ``snapshot``; new and changed photos are left to search."""
        diff = snapshot_diff(self.snapshot, snapshot)
        if diff is None:
            self._reset(snapshot)
            return
        kept = np.flatnonzero(diff.old_to_new >= 0)
        new_rows = diff.old_to_new[kept]
        links = np.full((len(snapshot), self.neighbours), _NONE, dtype=np.int32)
        scores = np.zeros((len(snapshot), self.neighbours), dtype=np.float32)
        moved = self._links[kept]
        moved = np.where(moved >= 0, diff.old_to_new[np.maximum(moved, 0)], _NONE)
        links[new_rows] = moved
        scores[new_rows] = np.where(moved >= 0, self._scores[kept], 0.0)
        searched = np.zeros(len(snapshot), dtype=bool)
        searched[new_rows] = self._searched[kept]
        self.snapshot, self._links, self._scores, self._searched = snapshot, links, scores, searched

    @property
    def todo(self) -> np.ndarray:
        """Indexed rows not searched yet."""
        rows: np.ndarray = np.flatnonzero(~self._searched & (self.snapshot.status == 0))
        return rows

    def search(
        self,
        store: VectorStore,
        *,
        progress: Callable[[float], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Search every row not searched yet (blocking: run it in a thread); stopped, what was found stays."""
        todo = self.todo
        keys = id_keys(self.snapshot)
        total = max(1, int((self.snapshot.status == 0).sum()))
        done = total - todo.size
        for start in range(0, todo.size, _PAGE):
            if stop is not None and stop():
                raise InterruptedError("similar-photo scan stopped")
            page = todo[start : start + _PAGE]
            ids = self.snapshot.point_ids(page)
            vectors = {p.id: p.vector for p in store.retrieve(ids, with_vectors=True)}
            for row, point_id in zip(page.tolist(), ids, strict=True):
                vector = vectors.get(point_id)
                if vector is not None:
                    hits = store.search(vector, limit=self.neighbours + 1, flt=_INDEXED, fields=())
                    self._record(row, [h.id for h in hits], [h.score for h in hits], keys)
                self._searched[row] = True
            done += page.size
            if progress is not None:
                progress(min(1.0, done / total))

    def _record(self, row: int, hit_ids: list[str], scores: list[float], keys: np.ndarray | None) -> None:
        rows = self._rows_of(hit_ids, keys)
        keep = (rows >= 0) & (rows != row)
        found, values = rows[keep][: self.neighbours], np.asarray(scores, dtype=np.float32)[keep][: self.neighbours]
        self._links[row] = _NONE
        self._scores[row] = 0.0
        self._links[row, : found.size] = found
        self._scores[row, : found.size] = values

    def _rows_of(self, point_ids: list[str], keys: np.ndarray | None) -> np.ndarray:
        """Rows of ``point_ids`` in the snapshot (-1 for one it does not hold), by binary search on the id."""
        if not point_ids:
            return np.zeros(0, dtype=np.int64)
        raw = np.frombuffer(b"".join(uuid.UUID(i).bytes for i in point_ids), dtype="V16")
        if keys is None or keys.size == 0:
            return np.full(len(point_ids), _NONE, dtype=np.int64)
        wanted = np.ascontiguousarray(raw).view(">u8").reshape(-1, 2)[:, 0].astype(np.uint64)
        at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        same = self.snapshot.ids[at] == raw
        return np.where(same, at, _NONE).astype(np.int64)

    def groups(self, *, min_score: float, include_exact: bool) -> list[DuplicateGroup]:
        """Photos chained by links scoring at least ``min_score``; closeness: each one's best link."""
        rows, slots = np.nonzero((self._links >= 0) & (self._scores >= min_score))
        if rows.size == 0:
            return []
        others = self._links[rows, slots].astype(np.int64)
        scores = self._scores[rows, slots]
        best = np.zeros(len(self.snapshot), dtype=np.float64)
        np.maximum.at(best, rows, scores)
        np.maximum.at(best, others, scores)
        linked = np.unique(np.concatenate([rows, others]))
        local = np.searchsorted(linked, np.stack([rows, others], axis=1))
        sets = UnionFind(linked.size)
        sets.union_pairs(local)
        groups = []
        for members in sets.sets():
            member_rows = linked[members].tolist()
            if include_exact or not one_content(self.snapshot, member_rows):
                closeness = {r: round(float(best[r]), 6) for r in member_rows}
                groups.append(make_group(self.snapshot, member_rows, closeness))
        return groups


__all__ = ["NEIGHBOURS", "LiveSimilarLinks"]
