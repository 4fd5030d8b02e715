"""Exact windows of a vector search in the total order (score, then id), however many scores tie.

The store returns its top ``n`` by score; among equal scores it picks any. A
window cut at the ``n``-th hit is therefore only known to be complete for the
scores strictly above the lowest one it holds: the block of hits tying at
that score may go on past the cut. So a window is read, and widened (twice
as many hits each time) until the hits it must return all lie strictly above
that lowest score, or the store has no more. A block of ties of any length is
read whole; nothing depends on a fixed over-fetch.

After a position, the hits ranked before it need not be read again. A
window tells how many of the store's hits score strictly more than a given
hit (``skip_after``), and the next window starts one hit short of that: when
the first hit it reads still scores strictly more than the position, every
hit before it does too, so each was served already. When that check fails
(photos came or went above the position) the window is read from the top.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from photoindex.indexer.store import PhotoFilter, PhotoPayload, SearchHit, VectorStore
from photoindex.library.paging import Position, rank_key, rounded

# Read this many more hits than asked for, so a few ties or dropped hits do not cost a second read.
SLACK = 16
# A post-filter (a radius) that keeps few hits stops widening here: beyond it, narrow the box instead.
MAX_FILTERED_FETCH = 20_000


@dataclass(frozen=True)
class Window:
    """The hits of one window, and what it read: the store's rounded scores from offset ``start`` on."""

    hits: list[SearchHit]
    start: int
    scores: np.ndarray

    def skip_after(self, score: float) -> int:
        """How many of the store's hits are known to score strictly more than ``score``."""
        return self.start + int(np.count_nonzero(self.scores > score))

    def ties_at(self, score: float) -> int:
        """How many hits read tie at ``score`` (the next window reads at least that many at once)."""
        return int(np.count_nonzero(self.scores == score))


def vector_window(
    store: VectorStore,
    vector: np.ndarray,
    *,
    want: int,
    flt: PhotoFilter | None = None,
    after: Position | None = None,
    skip: int = 0,
    ties: int = 0,
    drop: Collection[str] = (),
    accepts: Callable[[PhotoPayload], bool] | None = None,
    fields: Sequence[str] | None = None,
) -> Window:
    """The first ``want`` hits after ``after`` (all of them when None) in rank order, scores rounded.

    ``drop`` ids and hits ``accepts`` refuses are left out; ``skip`` is the previous
    window's ``skip_after(after.score)`` and ``ties`` its ``ties_at(after.score)``
    (any guess is safe: they only save work).
    ``fields`` limits the payloads read, as in ``VectorStore.search`` (``accepts``
    sees only those).
    """
    # Start one short, so the first hit read vouches for every hit skipped.
    skip = max(0, skip - 1) if after is not None else 0
    fetch = max(1, want) + len(drop) + SLACK + (ties if after is not None else 0)
    if accepts is not None:
        fetch = int(fetch * 1.5)
    while True:
        raw = store.search(vector, limit=fetch, offset=skip, flt=flt, fields=fields)
        hits = [SearchHit(h.id, rounded(h.score), h.payload) for h in raw]
        if skip and (not hits or after is None or hits[0].score <= after.score):
            fetch, skip = fetch + skip, 0  # the skipped hits may hold some after the position
            continue
        exhausted = len(raw) < fetch
        scores = np.fromiter((h.score for h in hits), dtype=np.float64, count=len(hits))
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
            return Window(kept[:want], skip, scores)
        floor = hits[-1].score
        settled = [h for h in kept if h.score > floor]
        if len(settled) >= want or (accepts is not None and fetch >= MAX_FILTERED_FETCH):
            return Window(settled[:want], skip, scores)
        fetch *= 2


__all__ = ["MAX_FILTERED_FETCH", "SLACK", "Window", "vector_window"]
