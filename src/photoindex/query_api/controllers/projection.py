"""The library as a 2-D map: the last fitted map at once, never waiting for a fit."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from photoindex.library import Rejected
from photoindex.library.paging import decode_cursor, encode_cursor, fingerprint
from photoindex.query_api import limits
from photoindex.query_api.params import CursorParam
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.library import ProjectionPage
from photoindex.query_api.services import ApiServices

MapLimit = Annotated[int, QueryParameter(ge=1, le=limits.MAX_PROJECTION_LIMIT, description="points per page")]
MapOffset = Annotated[int, QueryParameter(ge=0, le=10_000_000, description="points to skip")]
_QUERY = fingerprint("projection")


class ProjectionController(Controller):
    path = "/projection"
    tags = ("map",)

    @get("/", responses=problem_docs(400, 401), summary="2-D UMAP coordinates with cluster labels")
    async def projection(
        self,
        services: NamedDependency[ApiServices],
        limit: MapLimit = 10_000,
        offset: MapOffset = 0,
        cursor: CursorParam = None,
    ) -> ProjectionPage:
        """``stale``: the library changed since the map was fitted; ``computing``: a refit runs in the background.

        Points come in photo-id order; ``next_cursor`` continues after the last id served, also
        across a refit (each photo of both maps once), where ``next_offset`` would shift."""
        if cursor is not None and offset:
            raise Rejected("give a cursor or an offset, not both", reason="invalid")
        after = decode_cursor(cursor, _QUERY, shape=(str,)).key[0] if cursor is not None else None
        current, stale, computing = await services.projection.current()
        if current is None:
            return ProjectionPage(
                ids=[],
                x=[],
                y=[],
                clusters=[],
                offset=offset,
                limit=limit,
                total=0,
                next_offset=None,
                method=None,
                computed_at=None,
                stale=True,
                computing=computing,
                error=services.projection.error,
            )
        if after is not None:
            offset = current.index_after(str(after))
        end = offset + limit
        ids, x, y, clusters = current.page(offset, end)
        return ProjectionPage(
            ids=ids,
            x=x,
            y=y,
            clusters=clusters,
            offset=offset,
            limit=limit,
            total=current.photos,
            next_offset=end if end < current.photos else None,
            next_cursor=encode_cursor(_QUERY, end, (ids[-1],)) if end < current.photos else None,
            method=current.method,
            computed_at=current.computed_at,
            stale=stale,
            computing=computing,
            error=services.projection.error,
        )


__all__ = ["ProjectionController"]
