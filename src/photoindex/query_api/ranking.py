"""Turn a query into a ``SearchPage``: the one path every search endpoint ends in, with cursor paging.

A query is named by a fingerprint of everything that decides its ranking
(endpoint, query terms, filters, excluded photos). Its vector is pinned under
that name, so every page of one query ranks by the very same vector (and an
image query is not decoded and embedded again for each page), and its cursor
carries the name, so a cursor given to another query is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import numpy as np

from photoindex.library import Hit, HitPage, Rejected, SearchFilters
from photoindex.library.paging import PinnedQuery, decode_cursor, encode_cursor, fingerprint, rank_key, search_position
from photoindex.query_api.schemas.common import photo_summary
from photoindex.query_api.schemas.places import Interpreted
from photoindex.query_api.schemas.search import FilterSpec, SearchHitOut, SearchPage
from photoindex.query_api.services import ApiServices

# Makes the query vector (and the upload id of an image query) when it is not pinned.
VectorMaker = Callable[[], Awaitable[tuple[np.ndarray, str | None]]]


async def ranked_page(
    services: ApiServices,
    make_vector: VectorMaker,
    spec: FilterSpec,
    *,
    query: tuple[object, ...],
    limit: int,
    offset: int,
    cursor: str | None = None,
    caption_query: str | None = None,
    exclude: frozenset[str] = frozenset(),
    narrow: Callable[[SearchFilters], SearchFilters] | None = None,
    interpreted: Interpreted | None = None,
) -> SearchPage:
    """One page of the query ``query`` (the parts that decide its ranking, filters aside).

    ``narrow`` adds the filters a text query's words became (``interpreted`` says which; the
    query tuple must name them too, so that a cursor never continues another reading)."""
    digest = fingerprint(*query, msgspec.to_builtins(spec), caption_query, sorted(exclude))
    after, start, hints = None, offset, (0, 0)
    if cursor is not None:
        if offset:
            raise Rejected("give a cursor or an offset, not both", reason="invalid")
        decoded = decode_cursor(cursor, digest, shape=(float, str))
        after, start, hints = search_position(decoded), decoded.rank, (decoded.skip, decoded.ties)
    query_pin = await _pin(services, digest, make_vector, pinned=cursor is not None)
    filters = spec.to_filters()
    page = await services.searcher.search(
        query_pin.vector,
        narrow(filters) if narrow is not None else filters,
        limit=limit,
        offset=offset,
        after=after,
        skip=hints[0],
        ties=hints[1],
        caption_query=caption_query,
        caption_matches=query_pin.caption_matches,
        exclude=exclude,
    )
    query_pin.caption_matches = page.caption_matches
    hits = [_out(h) for h in page.hits]
    more = page.more and bool(hits)
    last = page.hits[-1] if page.hits else None
    return SearchPage(
        hits=hits,
        offset=start,
        limit=limit,
        total=page.total,
        next_offset=start + len(hits) if more else None,
        next_cursor=_next(digest, start + len(hits), last, page) if more else None,
        hybrid=page.hybrid,
        upload_id=query_pin.upload_id,
        interpreted=interpreted,
    )


async def _pin(services: ApiServices, digest: str, make_vector: VectorMaker, *, pinned: bool) -> PinnedQuery:
    """A first page makes the vector (and pins it); the pages after it use the pinned query while it is kept."""
    entry = services.pinned.get(digest) if pinned else None
    if entry is None:
        vector, upload_id = await make_vector()
        entry = PinnedQuery(vector, upload_id)
        services.pinned.put(digest, entry)
    if entry.upload_id is not None and services.uploads.get(entry.upload_id) is None:
        # The upload expired but the query lives on: give it a fresh id for POST /search.
        entry.upload_id = services.uploads.put(entry.vector)
    return entry


def _next(digest: str, rank: int, last: Hit | None, page: HitPage) -> str | None:
    return None if last is None else encode_cursor(digest, rank, rank_key(last.score, last.id), page.skip, page.ties)


def _out(hit: Hit) -> SearchHitOut:
    return SearchHitOut(
        id=hit.id,
        score=hit.score,
        vector_score=hit.vector_score,
        caption_score=hit.caption_score,
        matched=list(hit.matched),
        caption_words=list(hit.caption_words),
        photo=photo_summary(hit.id, hit.payload),
    )


__all__ = ["VectorMaker", "ranked_page"]
