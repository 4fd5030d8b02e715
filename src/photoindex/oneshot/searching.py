"""``photoindex search``: ask the running daemon when there is one, else rank in-process the same way.

Through the daemon a query costs an HTTP round trip on loopback (the models
are already loaded, the text jumps the indexing queue); in-process it pays for
importing torch and loading the model, several seconds. Both rank with the
library's ``Searcher`` (vector search plus caption matches, place names and
dates in the text read as filters), so a search finds the same photos in the
same order either way. Set ``PHOTOINDEX_NO_DAEMON=1`` to always search in-process.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import anyio
import numpy as np

from photoindex.components import SearchParts, open_search
from photoindex.config import AppPaths, Settings
from photoindex.errors import ErrorCode, FileError, ModelError
from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.records import DecodeRequest
from photoindex.library import Catalog, Hit, Jobs, Searcher, SearchFilters, combine
from photoindex.library.place_index import PlaceIndexCache
from photoindex.library.query_reading import QueryReading, read_query
from photoindex.oneshot.daemon_client import FoundPhoto, search_via_daemon

NO_DAEMON_ENV = "PHOTOINDEX_NO_DAEMON"
# `photoindex search --limit` goes this far; the API serves MAX_LIMIT a page, so the CLI pages with the
# cursor. `--offset` is bounded by the API's MAX_OFFSET, in-process too, so both paths accept the same.
MAX_RESULTS = 1000
# The library's captions and places are read once before ranking: a daemon keeps them read, we cannot.
SNAPSHOT_WAIT_S = 300.0


def search(
    settings: Settings,
    *,
    text: str | None,
    image: str | None,
    limit: int = 20,
    offset: int = 0,
    paths: AppPaths | None = None,
) -> list[FoundPhoto]:
    """Ranked hits (score, path, id and a few facts); text and image together add their vectors.

    ``paths``: the folders, when the caller has worked them out already.
    """
    if image is not None and not Path(image).is_file():
        raise FileError(f"{image} is not a file", code=ErrorCode.NOT_FOUND)
    if os.environ.get(NO_DAEMON_ENV) != "1":
        hits = search_via_daemon(settings, text=text, image=image, limit=limit, offset=offset)
        if hits is not None:
            return hits
    return search_in_process(settings, text=text, image=image, limit=limit, offset=offset, paths=paths)


def search_in_process(
    settings: Settings,
    *,
    text: str | None,
    image: str | None,
    limit: int = 20,
    offset: int = 0,
    paths: AppPaths | None = None,
) -> list[FoundPhoto]:
    """Load the model here and rank the store as the daemon's API does (no daemon running)."""
    with open_search(settings, paths) as parts:
        return rank(parts, text=text, image=image, limit=limit, offset=offset)


def rank(parts: SearchParts, *, text: str | None, image: str | None, limit: int, offset: int) -> list[FoundPhoto]:
    """The hits ``offset`` to ``offset + limit`` of a query over ``parts``, in the API's order."""
    pixels = None
    if image is not None:
        # Same decode as indexing, so an indexed image finds itself first.
        pixels = decode_photo(image, DecodeRequest(model_size=parts.spec.image_size)).pixels
    return [_found(hit) for hit in anyio.run(_ranked, parts, text, pixels, limit, offset)]


async def _ranked(
    parts: SearchParts, text: str | None, pixels: np.ndarray | None, limit: int, offset: int
) -> list[Hit]:
    """The API's ranking: ``GET /search/text`` for a text, ``POST /search/image`` for an image (and a text)."""
    jobs = Jobs()
    catalog = Catalog(parts.store, jobs)
    async with anyio.create_task_group() as tg:
        jobs.attach(tg)
        try:
            reading = await _read(catalog, text) if text and pixels is None else None
            query_text = reading.text if reading is not None else text
            terms: list[tuple[np.ndarray, float]] = []
            if pixels is not None:
                terms.append(((await parts.models.embed_images(pixels[None]))[0], 1.0))
            if query_text is not None and (pixels is None or query_text):  # a text query always embeds its text
                terms.append(((await parts.models.embed_texts([query_text]))[0], 1.0))
            vector = combine(terms, []) if terms else None
            if vector is None:
                raise ModelError("the query embedding is empty", code=ErrorCode.EMBED)
            filters = SearchFilters()
            page = await Searcher(parts.store, catalog).search(
                vector,
                reading.narrow(filters) if reading is not None else filters,
                limit=limit,
                offset=offset,
                caption_query=query_text,
            )
        finally:
            jobs.attach(None)
            tg.cancel_scope.cancel()
    return page.hits


async def _read(catalog: Catalog, text: str) -> QueryReading | None:
    """``text``'s places and dates, against the places of the library (as ``GET /search/text`` reads them)."""
    snapshot, _fresh = await catalog.snapshot(wait_s=SNAPSHOT_WAIT_S)
    return read_query(text, await PlaceIndexCache().index(snapshot), date.today())


def _found(hit: Hit) -> FoundPhoto:
    payload = hit.payload
    return FoundPhoto(
        id=hit.id,
        score=round(float(hit.score), 6),
        path=payload.path,
        caption=payload.caption,
        taken_at=payload.taken_at,
        width=payload.width,
        height=payload.height,
    )


__all__ = ["MAX_RESULTS", "NO_DAEMON_ENV", "rank", "search", "search_in_process"]
