"""Turn a query vector into a ``SearchPage``: the one path every search endpoint ends in."""

from __future__ import annotations

import numpy as np

from photoindex.library import Hit
from photoindex.query_api.schemas.common import photo_summary
from photoindex.query_api.schemas.search import FilterSpec, SearchHitOut, SearchPage
from photoindex.query_api.services import ApiServices


async def ranked_page(
    services: ApiServices,
    vector: np.ndarray,
    spec: FilterSpec,
    *,
    limit: int,
    offset: int,
    caption_query: str | None = None,
    exclude: frozenset[str] = frozenset(),
    upload_id: str | None = None,
) -> SearchPage:
    page = await services.searcher.search(
        vector, spec.to_filters(), limit=limit, offset=offset, caption_query=caption_query, exclude=exclude
    )
    hits = [_out(h) for h in page.hits]
    more = len(hits) == limit and (page.total is None or offset + limit < page.total)
    return SearchPage(
        hits=hits,
        offset=offset,
        limit=limit,
        total=page.total,
        next_offset=offset + limit if more else None,
        hybrid=page.hybrid,
        upload_id=upload_id,
    )


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


__all__ = ["ranked_page"]
