"""The library listed by taken date (the timeline), one page at a time."""

from __future__ import annotations

import msgspec

from photoindex.query_api.schemas.common import PhotoSummary


class PhotoListPage(msgspec.Struct, kw_only=True):
    """Photos in taken-date order, then by id; ``next_cursor`` continues exactly after the last one.

    ``total`` counts every photo the conditions allow. The listing is computed from the
    library's columnar snapshot: ``stale`` says a newer one is being read (ask again for it);
    ``computing`` says none is ready yet (the page is empty; ask again shortly).
    """

    items: list[PhotoSummary]
    limit: int
    total: int
    next_cursor: str | None = None
    stale: bool = False
    computing: bool = False


__all__ = ["PhotoListPage"]
