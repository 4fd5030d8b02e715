"""Similar photos (bursts, re-edits): chained by vector similarity, one nearest-neighbour search per photo.

No N×N matrix: each distinct content asks the store for its few nearest
neighbours and links those above the score threshold (union-find). Copies
with the same bytes share one vector, so they are searched once. It costs one
vector search per photo (seconds at 10k, minutes at 100k on a CPU), so it
runs as a background job and reports progress.

This is the whole scan in one call. The finder keeps neighbour lists per photo
instead (``similar_live``), so that a new photo costs one search; this scan is
what they are checked against.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoFilter, VectorStore
from photoindex.library.duplicates.grouping import DuplicateGroup, UnionFind, make_group, one_content, ranked
from photoindex.library.snapshot import Snapshot

DEFAULT_MIN_SCORE = 0.92  # cosine; CLIP ViT-B-32 bursts and re-edits sit above ~0.9, different scenes below
NEIGHBOURS = 8
_INDEXED = PhotoFilter(statuses=(PhotoStatus.INDEXED,))


def similar_groups(
    store: VectorStore,
    snapshot: Snapshot,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    neighbours: int = NEIGHBOURS,
    include_exact: bool = False,
    progress: Callable[[float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[DuplicateGroup]:
    """Groups of photos linked by similarity ≥ ``min_score`` (blocking: run it in a thread).

    Each member's closeness is the best similarity it has to another member.
    Photos indexed after ``snapshot`` was taken are not considered.
    """
    row_of = snapshot.row_of()
    sets = UnionFind(len(snapshot))
    best: dict[int, float] = {}
    searched: dict[bytes, int] = {}  # content → the row whose vector was searched
    todo = max(1, int((snapshot.status == 0).sum()))
    for done, point in enumerate(store.scroll(flt=_INDEXED, with_vectors=True, fields=("sha256",))):
        if stop is not None and stop():
            raise InterruptedError("similar-photo scan stopped")
        row = row_of.get(uuid.UUID(point.id).bytes)
        if row is None or point.vector is None:
            continue
        content = snapshot.sha256[row].tobytes()
        if content in searched:
            sets.union(row, searched[content])
            best[row] = 1.0
            best[searched[content]] = 1.0
            continue
        searched[content] = row
        for hit in store.search(point.vector, limit=neighbours + 1, flt=_INDEXED):
            other = row_of.get(uuid.UUID(hit.id).bytes)
            if other is None or other == row or hit.score < min_score:
                continue
            sets.union(row, other)
            best[row] = max(best.get(row, 0.0), hit.score)
            best[other] = max(best.get(other, 0.0), hit.score)
        if progress is not None and done % 256 == 0:
            progress(min(1.0, done / todo))
    groups = [
        make_group(snapshot, members, {r: round(best.get(r, 0.0), 6) for r in members})
        for members in sets.sets(best.keys())
        if include_exact or not one_content(snapshot, members)
    ]
    return ranked(groups)


__all__ = ["DEFAULT_MIN_SCORE", "similar_groups"]
