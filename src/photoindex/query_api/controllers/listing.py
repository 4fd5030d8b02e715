"""``GET /photos``: every photo in taken-date order (the web page's timeline), paged by cursor."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from photoindex.library import Rejected
from photoindex.library.paging import decode_cursor, encode_cursor, fingerprint
from photoindex.library.timeline import TimelineQuery
from photoindex.query_api import limits
from photoindex.query_api.params import CursorParam, Limit
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.common import photo_summary
from photoindex.query_api.schemas.listing import PhotoListPage
from photoindex.query_api.schemas.search import FilterSpec
from photoindex.query_api.services import ApiServices

_Path = Annotated[
    str | None,
    QueryParameter(
        max_length=limits.MAX_PATH_CHARS,
        pattern=limits.ABSOLUTE_PATH_PATTERN,
        description="photos anywhere below this folder",
    ),
]
_Date = Annotated[
    str | None,
    QueryParameter(min_length=10, max_length=40, pattern=limits.DATE_PATTERN, description="ISO 8601 date or date-time"),
]
# A fresh snapshot of a large library takes a moment to read; a page waits this long, then serves the last one.
SNAPSHOT_WAIT_S = 2.0


class PhotoListController(Controller):
    path = "/photos"
    tags = ("photos",)

    @get("/", responses=problem_docs(400, 401), summary="Every photo by taken date (the timeline), paged by cursor")
    async def listing(
        self,
        services: NamedDependency[ApiServices],
        sort: Annotated[Literal["taken_at"], QueryParameter(description="the one order so far")] = "taken_at",
        order: Annotated[Literal["desc", "asc"], QueryParameter(description="newest or oldest first")] = "desc",
        folder: _Path = None,
        taken_from: _Date = None,
        taken_to: Annotated[_Date, QueryParameter(description="exclusive; a bare date includes that day")] = None,
        limit: Limit = 100,
        cursor: CursorParam = None,
    ) -> PhotoListPage:
        """Indexed photos, newest (or oldest) first by taken date, then by id; photos without a date come last."""
        spec = _spec(folder=folder, taken_from=taken_from, taken_to=taken_to).to_filters()
        query = TimelineQuery(order, spec.folder, spec.taken_from_ts, spec.taken_to_ts)
        query_key = fingerprint("photos", sort, order, spec.folder, spec.taken_from_ts, spec.taken_to_ts)
        after = None
        if cursor is not None:
            key = decode_cursor(cursor, query_key, shape=(float, str)).key
            after = (float(key[0]), str(key[1]))
        snapshot, current = await services.catalog.snapshot(wait_s=SNAPSHOT_WAIT_S)
        if snapshot is None:
            return PhotoListPage(items=[], limit=limit, total=0, computing=True)
        # Off the event loop: the first page of a snapshot sorts it (about 0.75 s for a million photos).
        page = await anyio.to_thread.run_sync(lambda: services.timeline.page(snapshot, query, after=after, limit=limit))
        points = {p.id: p for p in await services.in_store(lambda: services.store.retrieve(page.ids))}
        items = [photo_summary(i, points[i].payload) for i in page.ids if i in points]
        next_cursor = None
        if page.more and page.last_key is not None:
            next_cursor = encode_cursor(query_key, 0, page.last_key)
        return PhotoListPage(items=items, limit=limit, total=page.total, next_cursor=next_cursor, stale=not current)


def _spec(**given: object) -> FilterSpec:
    try:
        return msgspec.convert({k: v for k, v in given.items() if v}, FilterSpec)
    except msgspec.ValidationError as exc:
        raise Rejected(f"invalid filter: {exc}", reason="invalid") from None


__all__ = ["PhotoListController"]
