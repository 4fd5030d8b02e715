"""Search by text, by an uploaded image, and by a combination with weights and negative examples."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, MultipartBody, QueryParameter
from msgspec import UNSET

from photoindex.errors import ErrorCode
from photoindex.library import Rejected, combine, parse_id
from photoindex.library.query_images import decode_query_image
from photoindex.library.query_reading import QueryReading, read_query
from photoindex.library.search import FIRST_SNAPSHOT_WAIT_S
from photoindex.query_api import limits
from photoindex.query_api.params import CursorParam, Limit, Offset, query_filters
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.ranking import ranked_page
from photoindex.query_api.schemas.places import interpreted
from photoindex.query_api.schemas.search import CombinedSearch, FilterSpec, QueryTerm, SearchPage
from photoindex.query_api.services import ApiServices

InterpretParam = Annotated[
    bool,
    QueryParameter(description="read place names and dates in q as filters (see `interpreted` in the answer)"),
]
QueryParam = Annotated[str, QueryParameter(min_length=1, max_length=limits.MAX_QUERY_CHARS, description="what to find")]


@dataclass
class ImageQuery:
    """An image to find look-alikes of, optionally steered by a text."""

    image: UploadFile
    text: str | None = None
    text_weight: float = 1.0


class SearchController(Controller):
    """Text and combined search."""

    path = "/search"
    tags = ("search",)
    dependencies = {"conditions": Provide(query_filters)}  # noqa: RUF012 - Litestar reads it from the class

    @get("/text", responses=problem_docs(400, 401, 503), summary="Photos matching a description")
    async def text(
        self,
        services: NamedDependency[ApiServices],
        conditions: NamedDependency[FilterSpec],
        q: QueryParam,
        limit: Limit = 20,
        offset: Offset = 0,
        cursor: CursorParam = None,
        interpret: InterpretParam = True,
    ) -> SearchPage:
        """CLIP text embedding, plus caption words where captions exist (each hit says which matched).

        Place names the library holds photos of and dates ("beach in Lisbon last summer",
        "snow December 2021") become filters and leave the text; ``interpreted`` says how ``q`` was read."""
        reading = await _read(services, q) if interpret else None
        text = reading.text if reading is not None else q
        shown = interpreted(reading) if reading is not None else None

        async def vector() -> tuple[np.ndarray, str | None]:
            return (await services.encoder.texts([text]))[0], None

        query: tuple[object, ...] = ("text", " ".join(text.split()))
        return await ranked_page(
            services,
            vector,
            conditions,
            query=(*query, msgspec.to_builtins(shown)) if shown is not None else query,
            limit=limit,
            offset=offset,
            cursor=cursor,
            caption_query=text,
            narrow=reading.narrow if reading is not None else None,
            interpreted=shown,
        )

    @post("/", status_code=200, responses=problem_docs(400, 401, 404, 503), summary="Combined search")
    async def combined(self, services: NamedDependency[ApiServices], data: JSONBody[CombinedSearch]) -> SearchPage:
        """Texts, indexed photos and uploaded images, weighted; negative terms are subtracted."""
        for term in (*data.positive, *data.negative):
            term.kind()
        exclude = frozenset(parse_id(t.photo_id) for t in data.positive if t.photo_id is not UNSET)

        async def vector() -> tuple[np.ndarray, str | None]:
            combined = combine(await _vectors(services, data.positive), await _vectors(services, data.negative))
            if combined is None:
                raise Rejected("the positive and negative terms cancel out", reason="invalid")
            return combined, None

        texts = " ".join(t.text for t in data.positive if t.text is not UNSET)
        return await ranked_page(
            services,
            vector,
            data.filters,
            query=("combined", msgspec.to_builtins(data.positive), msgspec.to_builtins(data.negative)),
            limit=data.limit,
            offset=data.offset,
            cursor=data.cursor,
            caption_query=texts or None,
            exclude=exclude,
        )


class ImageSearchController(Controller):
    """Search by an uploaded image (its own controller: it accepts a larger body)."""

    path = "/search"
    tags = ("search",)
    dependencies = {"conditions": Provide(query_filters)}  # noqa: RUF012

    @post("/image", status_code=200, responses=problem_docs(400, 401, 413, 422, 503), summary="Photos like an image")
    async def image(
        self,
        services: NamedDependency[ApiServices],
        conditions: NamedDependency[FilterSpec],
        data: MultipartBody[ImageQuery],
        limit: Limit = 20,
        offset: Offset = 0,
        cursor: CursorParam = None,
    ) -> SearchPage:
        """Multipart field ``image``; the answer's ``upload_id`` can be reused in ``POST /search``.

        Send the same image with the previous page's ``cursor`` for the next page."""
        if not isinstance(data.image, UploadFile):
            raise Rejected("expected a file in the form field 'image'", reason="invalid")
        if data.text is not None and not 0 < len(data.text) <= limits.MAX_QUERY_CHARS:
            raise Rejected(f"text must be 1-{limits.MAX_QUERY_CHARS} characters", reason="invalid")
        if not 0 < data.text_weight <= limits.MAX_WEIGHT:
            raise Rejected(f"text_weight must be in (0, {limits.MAX_WEIGHT:g}]", reason="invalid")
        content = await data.image.read()

        async def vector() -> tuple[np.ndarray, str | None]:
            pixels = await decode_query_image(
                content,
                name=data.image.filename or "",
                model_size=services.spec.image_size,
                max_pixels=services.settings.model.max_pixels,
                decoder=services.decoder,
                temp_dir=services.paths.cache_dir / "tmp",
                limiter=services.decode_limiter,
            )
            image_vector = await services.encoder.image(pixels)
            upload_id = services.uploads.put(image_vector)
            terms: list[tuple[np.ndarray, float]] = [(image_vector, 1.0)]
            if data.text:
                terms.append(((await services.encoder.texts([data.text]))[0], data.text_weight))
            combined = combine(terms, [])
            if combined is None:
                raise Rejected("the image and text cancel out", reason="invalid")
            return combined, upload_id

        return await ranked_page(
            services,
            vector,
            conditions,
            query=("image", hashlib.sha256(content).hexdigest(), data.text, data.text_weight),
            limit=limit,
            offset=offset,
            cursor=cursor,
            caption_query=data.text,
        )


async def _read(services: ApiServices, q: str) -> QueryReading | None:
    """``q``'s places and dates, against the places of the latest library snapshot."""
    snapshot = services.catalog.current
    if snapshot is None:
        snapshot, _fresh = await services.catalog.snapshot(wait_s=FIRST_SNAPSHOT_WAIT_S)
    return read_query(q, await services.place_index.index(snapshot), services.today())


async def _vectors(services: ApiServices, terms: list[QueryTerm]) -> list[tuple[np.ndarray, float]]:
    for term in terms:
        term.kind()
    texts = [t.text for t in terms if t.text is not UNSET]
    text_vectors = iter(await services.encoder.texts(texts)) if texts else iter(())
    out: list[tuple[np.ndarray, float]] = []
    for term in terms:
        if term.text is not UNSET:
            out.append((next(text_vectors), term.weight))
        elif term.photo_id is not UNSET:
            point = await services.photos.get(term.photo_id, with_vector=True)
            if point.vector is None:
                raise Rejected(f"photo {point.id} has no embedding yet", reason="conflict")
            out.append((point.vector, term.weight))
        else:
            assert term.upload_id is not UNSET
            vector = services.uploads.get(term.upload_id)
            if vector is None:
                raise Rejected(
                    f"upload {term.upload_id} is unknown or expired; search by image again",
                    reason="invalid",
                    code=ErrorCode.NOT_FOUND,
                )
            out.append((vector, term.weight))
    return out


__all__ = ["ImageSearchController", "SearchController"]
