"""Rank photos for a query vector: filtered vector search, hybrid caption matching, exact paging.

The embedding decides the order; a caption holding the query's words adds
``CAPTION_WEIGHT × caption score`` to it, and each hit says what matched.
Every list is in one total order: score, best first, then photo id. A page
is the first ``limit`` hits after a position (a cursor) or after ``offset``
hits: the vector hits of that window (read exactly, ties and all, by
``vector_window``) merged with the best caption matches (which pass the same
filters in the store and keep their own score on every page), ranked, cut.
A radius filter is applied after the store's bounding-box search, reading
more until the page is full.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio
import msgspec
import numpy as np

from photoindex.indexer.store import PhotoFilter, PhotoPayload, PhotoPoint, SearchHit, VectorStore
from photoindex.library.captions_index import CaptionMatch
from photoindex.library.catalog import Catalog
from photoindex.library.filters import SearchFilters
from photoindex.library.paging import Position, rank_key, rounded
from photoindex.library.ranked_window import Window, vector_window

# A caption holding every query word moves a photo up by this much cosine similarity:
# about the gap between a good and a middling CLIP match for ViT-B-32.
CAPTION_WEIGHT = 0.1
CAPTION_CANDIDATES = 200
FIRST_SNAPSHOT_WAIT_S = 2.0
_COUNTS_KEPT = 256
_POST_FILTER_FIELDS = ("location",)


@dataclass(frozen=True)
class Hit:
    """One ranked photo."""

    id: str
    score: float
    vector_score: float
    caption_score: float
    caption_words: tuple[str, ...]
    payload: PhotoPayload

    @property
    def matched(self) -> tuple[str, ...]:
        return ("embedding", "caption") if self.caption_score > 0 else ("embedding",)


@dataclass(frozen=True)
class HitPage:
    hits: list[Hit]
    total: int | None  # photos the filters allow (None when counting them is not cheap)
    hybrid: bool  # caption matching took part
    caption_matches: Mapping[str, CaptionMatch] | None = None  # for the next page (``search(caption_matches=)``)
    more: bool = False  # at least one more hit follows the last one
    # Hints for the next page's ``search(skip=, ties=)``: store hits known to rank before it, hits tied at its start.
    skip: int = 0
    ties: int = 0


def unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return None if norm == 0.0 or not np.isfinite(norm) else (vector / norm).astype(np.float32)


def combine(
    positive: Sequence[tuple[np.ndarray, float]], negative: Sequence[tuple[np.ndarray, float]]
) -> np.ndarray | None:
    """Weighted sum of the positive vectors minus the negative ones, normalised (None if it cancels out)."""
    total = np.zeros_like(positive[0][0], dtype=np.float64)
    for vector, weight in positive:
        total += weight * vector
    for vector, weight in negative:
        total -= weight * vector
    return unit(total)


class Searcher:
    """Filtered, paged, hybrid ranking over the store."""

    def __init__(self, store: VectorStore, catalog: Catalog, *, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._store = store
        self._catalog = catalog
        self._limiter = limiter
        self._totals: OrderedDict[tuple[bytes, str], int] = OrderedDict()

    async def search(
        self,
        vector: np.ndarray,
        filters: SearchFilters,
        *,
        limit: int,
        offset: int = 0,
        after: Position | None = None,
        skip: int = 0,
        ties: int = 0,
        caption_query: str | None = None,
        caption_matches: Mapping[str, CaptionMatch] | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> HitPage:
        """The ``limit`` hits after ``after`` (``skip``, ``ties``: the previous page's), else after ``offset``.

        ``caption_matches``: the previous page's, so that every page of a query gives the same
        photos their caption bonus, whatever captions were written or photos added meanwhile.
        """
        captions, matched = await self._caption_matches(vector, filters, caption_query, caption_matches)
        start = 0 if after is not None else offset

        def page() -> tuple[list[Hit], list[Hit], Window]:
            ranked, window = self._ranked(vector, filters, start + limit + 1, after, (skip, ties), captions, exclude)
            return ranked, self._with_payloads(ranked[start : start + limit], captions or {}), window

        ranked, hits, window = await anyio.to_thread.run_sync(page, limiter=self._limiter)
        total = None
        if filters.exact_in_store:
            total = max(0, await self._total(filters.store_filter()) - len(exclude))
        return HitPage(
            hits,
            total,
            hybrid=captions is not None,
            caption_matches=matched,
            more=len(ranked) > start + limit,
            skip=window.skip_after(hits[-1].score) if hits else 0,
            ties=window.ties_at(hits[-1].score) if hits else 0,
        )

    async def _total(self, flt: PhotoFilter) -> int:
        """Photos matching ``flt``, counted once per library version (a count costs ~25 ms at 100k)."""
        version = self._catalog.known_version
        key = (msgspec.json.encode(flt), version.key if version is not None else "")
        if version is not None and key in self._totals:
            self._totals.move_to_end(key)
            return self._totals[key]
        counted = int(await anyio.to_thread.run_sync(self._store.count, flt, limiter=self._limiter))
        self._totals[key] = counted
        while len(self._totals) > _COUNTS_KEPT:
            self._totals.popitem(last=False)
        return counted

    def _ranked(
        self,
        vector: np.ndarray,
        filters: SearchFilters,
        want: int,
        after: Position | None,
        hints: tuple[int, int],
        captions: dict[str, Hit] | None,
        exclude: frozenset[str],
    ) -> tuple[list[Hit], Window]:
        """The first ``want`` hits after ``after`` in rank order (payloads only on caption hits)."""
        captioned = captions or {}
        # A captioned photo is ranked by its caption hit alone, on every page: its place must not
        # depend on whether this window's vector hits happened to include it.
        window = vector_window(
            self._store,
            vector,
            want=want,
            flt=_vector_filter(filters),
            after=after,
            skip=hints[0],
            ties=hints[1],
            drop=exclude | captioned.keys(),
            accepts=None if filters.exact_in_store else filters.accepts,
            # A window may read a long run of tied hits: only what the post-filter needs, no payloads.
            fields=() if filters.exact_in_store else _POST_FILTER_FIELDS,
        )
        merged = [_hit(h) for h in window.hits]
        merged.extend(
            h for h in captioned.values() if h.id not in exclude and (after is None or after.before(h.score, h.id))
        )
        merged.sort(key=lambda h: rank_key(h.score, h.id))
        return merged[:want], window

    def _with_payloads(self, hits: list[Hit], captioned: dict[str, Hit]) -> list[Hit]:
        """The hits with their whole payloads; one removed since the search is left out."""
        missing = [h.id for h in hits if h.id not in captioned]
        payloads = {p.id: p.payload for p in self._store.retrieve(missing)} if missing else {}
        out = []
        for hit in hits:
            if hit.id in captioned:
                out.append(hit)
            elif hit.id in payloads:
                out.append(dataclasses.replace(hit, payload=payloads[hit.id]))
        return out

    async def _caption_matches(
        self,
        vector: np.ndarray,
        filters: SearchFilters,
        query: str | None,
        pinned: Mapping[str, CaptionMatch] | None,
    ) -> tuple[dict[str, Hit] | None, Mapping[str, CaptionMatch] | None]:
        """Photos whose captions hold the query's words and pass the filters, scored both ways; the matches."""
        if not query:
            return None, None
        by_id = pinned if pinned is not None else await self._match_captions(query)
        if by_id is None:
            return None, None
        if not by_id:
            return {}, by_id

        def load() -> list[PhotoPoint]:
            paths = [p.payload.path for p in self._store.retrieve(list(by_id)) if p.payload.path is not None]
            if not paths:
                return []
            flt = msgspec.structs.replace(filters.store_filter(), paths=tuple(paths))
            return [p for p in self._store.scroll(flt=flt, with_vectors=True) if filters.accepts(p.payload)]

        points = await anyio.to_thread.run_sync(load, limiter=self._limiter)
        out: dict[str, Hit] = {}
        for point in points:
            match = by_id.get(point.id)
            if match is None or point.vector is None:
                continue
            similarity = rounded(float(np.dot(point.vector, vector)))
            score = rounded(similarity + CAPTION_WEIGHT * match.score)
            out[point.id] = Hit(point.id, score, similarity, match.score, match.words, point.payload)
        return out, by_id

    async def _match_captions(self, query: str) -> dict[str, CaptionMatch] | None:
        """The best caption matches by photo id (None when no caption is known)."""
        # Right after start the first library read may still run: worth a short wait, once.
        # Kept current by the catalog's background watch; a request does not check the store for it.
        snapshot = self._catalog.current
        if snapshot is None:
            snapshot, _fresh = await self._catalog.snapshot(wait_s=FIRST_SNAPSHOT_WAIT_S)
        if snapshot is None or not len(snapshot.captions):
            return None
        matches = snapshot.captions.match(query, rows=len(snapshot), limit=CAPTION_CANDIDATES)
        return {snapshot.point_id(m.row): m for m in matches}


def _vector_filter(filters: SearchFilters) -> PhotoFilter:
    # Only indexed photos carry a vector, so a status condition would only cost time (~15 ms at 100k).
    return filters.store_filter(statuses=None)


def _hit(hit: SearchHit) -> Hit:
    score = rounded(hit.score)
    return Hit(hit.id, score, score, 0.0, (), hit.payload)


__all__ = ["CAPTION_WEIGHT", "Hit", "HitPage", "Searcher", "combine", "unit"]
