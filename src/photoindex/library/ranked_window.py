"""Exact windows of a vector search in the total order (score, then id), however many scores tie.

The store returns its top ``n`` by score; among equal scores it picks any. A
window cut at the ``n``-th hit is therefore only known to be complete for the
scores strictly above the lowest one it holds: the block of hits tying at
that score may go on past the cut. So a window is read, and widened (twice
as many hits each time) until the hits it must return all lie strictly above
that lowest score, or the store has no more. A block of ties of any length is
read whole; nothing depends on a fixed over-fetch.

After a position, the hits ranked before it need not be read again: the
store skips ``skip`` hits when the first hit past them still scores strictly
more than the position (then every skipped hit does too, so each was served
before it). When that check fails (the library changed, or ties straddle the
guess) the window is read from the top.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from photoindex.indexer.store import PhotoFilter, SearchHit, VectorStore
from photoindex.library.paging import Position, rank_key, rounded

# Read this many more hits than asked for, so a few ties or dropped hits do not cost a second read.
SLACK = 16
# A post-filter (a radius) that keeps few hits stops widening here: beyond it, narrow the box instead.
MAX_FILTERED_FETCH = 20_000


def vector_window(
    store: VectorStore,
    vector: np.ndarray,
    *,
    want: int,
    flt: PhotoFilter | None = None,
    after: Position | None = None,
    skip_hint: int = 0,
    drop: Collection[str] = (),
    accepts: Callable[[dict[str, Any]], bool] | None = None,
) -> list[SearchHit]:
    """The first ``want`` hits after ``after`` (all of them when None) in rank order, scores rounded.

    ``drop`` ids and hits ``accepts`` refuses are left out; ``skip_hint`` is how
    many hits were served before ``after`` (a guess is fine: it only saves work).
    """
    if want <= 0:
        return []
    skip = max(0, skip_hint - SLACK) if after is not None else 0
    fetch = want + (skip_hint - skip if after is not None else 0) + len(drop) + SLACK
    if accepts is not None:
        fetch = int(fetch * 1.5)
    while True:
        raw = store.search(vector, limit=fetch, offset=skip, flt=flt)
        hits = [SearchHit(h.id, rounded(h.score), h.payload) for h in raw]
        if skip and (not hits or after is None or hits[0].score <= after.score):
            fetch, skip = fetch + skip, 0  # the skipped hits may hold some after the position
            continue
        exhausted = len(raw) < fetch
        kept = sorted(
            (
                h
                for h in hits
                if h.id not in drop
                and (after is None or after.before(h.score, h.id))
                and (accepts is None or accepts(h.payload))
            ),
            key=lambda h: rank_key(h.score, h.id),
        )
        if exhausted:
            return kept[:want]
        floor = hits[-1].score
        settled = [h for h in kept if h.score > floor]
        if len(settled) >= want or (accepts is not None and fetch >= MAX_FILTERED_FETCH):
            return settled[:want]
        fetch *= 2


__all__ = ["MAX_FILTERED_FETCH", "SLACK", "vector_window"]
