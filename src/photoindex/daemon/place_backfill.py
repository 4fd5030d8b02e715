"""Give photos indexed before place names existed their ``place_*`` fields and local time, without inference.

The points to fill are found by a filter (``location`` set, ``place_country_code``
missing), so a pass reads only what is left to do and a library already filled
costs one empty scroll. Work goes in batches of ``BATCH`` in a worker thread
(geocoding ~30 µs a photo), and the fields are written through the
``IndexWriter`` (one ``set_payload`` per photo); ``keep_going`` is asked
between batches, so the daemon stops filling as soon as files arrive.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import structlog

from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.store import PhotoFilter, PhotoPoint
from photoindex.indexer.writer import IndexWriter, PayloadUpdate

__all__ = ["BATCH", "TODO", "backfill_places"]

log = structlog.get_logger(__name__)

# ~10 ms of geocoding and a few ms of payload writes per batch on 2 cores: short enough to yield to new files.
BATCH = 256
TODO = PhotoFilter(has_gps=True, has_place=False)
_FIELDS = ("location", "taken_at", "taken_at_source")


async def backfill_places(
    writer: IndexWriter,
    geo: GeoLookup,
    *,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Fill every photo with GPS but no place (until ``keep_going`` says stop); returns how many were filled."""
    filled = 0
    while keep_going():
        todo = await writer.scroll(TODO, fields=_FIELDS, limit=BATCH, page_size=BATCH)
        updates = await anyio.to_thread.run_sync(_geocode, geo, todo)
        filled += len(await writer.set_payload(updates))
        if len(todo) < BATCH or not updates:  # done, or only coordinates no place can be found for are left
            break
    if filled:
        log.info("places.backfilled", photos=filled)
    return filled


def _geocode(geo: GeoLookup, todo: list[PhotoPoint]) -> list[PayloadUpdate]:
    """The place fields of each point that has some (blocking: the first call loads the place data)."""
    if todo:
        geo.load()
    updates: list[PayloadUpdate] = []
    for point in todo:
        fields = geo.backfill(point.payload)
        if fields:
            updates.append((point.id, fields))
    return updates
