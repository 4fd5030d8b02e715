"""One photo by its opaque id: details, thumbnails, display rendition, original, look-alikes; and bulk removal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, cast

import numpy as np
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import File

from photoindex.indexer.decoding.thumbnails import DISPLAY_PX, THUMBNAIL_PX
from photoindex.library import Rejected, media_type, remove_photos
from photoindex.library.photos import content_hash
from photoindex.query_api.params import CursorParam, Limit, Offset, query_filters
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.ranking import ranked_page
from photoindex.query_api.schemas.photos import PhotoInfo, RemovalOut, RemoveRequest, RemoveResult, photo_info
from photoindex.query_api.schemas.search import FilterSpec, SearchPage
from photoindex.query_api.services import ApiServices

# Thumbnails are named by content, so an unchanged ETag is the same picture; an hour before revalidating.
THUMBNAIL_CACHE = "private, max-age=3600"
ORIGINAL_CACHE = "private, no-cache"

# 200 px for the grid, 400 px for the same grid on a 2x screen (``srcset``); anything else is a 400 problem.
ThumbnailSize = Annotated[
    Literal[200, 400], QueryParameter(description="longest side in pixels: 200, or 400 for high-DPI screens")
]


class PhotosController(Controller):
    path = "/photos"
    tags = ("photos",)

    @get("/{photo_id:str}", responses=problem_docs(401, 404), summary="Everything known about a photo")
    async def info(self, services: NamedDependency[ApiServices], photo_id: FromPath[str]) -> PhotoInfo:
        point = await services.photos.get(photo_id)
        return photo_info(point.id, point.payload)

    @get(
        "/{photo_id:str}/thumbnail",
        media_type="image/jpeg",
        responses=problem_docs(401, 404, 422, 503),
        summary="A JPEG thumbnail, 200 or 400 px (made from the original if the cache lacks it)",
    )
    async def thumbnail(
        self,
        services: NamedDependency[ApiServices],
        request: Request[object, object, State],
        photo_id: FromPath[str],
        size: ThumbnailSize = 200,  # THUMBNAIL_PX, spelled as the Literal it must be
    ) -> File:
        point = await services.photos.get(photo_id)
        # Each size its own ETag: the same photo at another size is another picture.
        kind = "t" if size == THUMBNAIL_PX else f"t{size}"
        etag = f'"{content_hash(point, "thumbnail")}-{kind}"'
        if _matches(request, etag):
            return _not_modified(_image_headers(etag))
        path = await services.photos.thumbnail(point, size)
        return _image(path, etag, photo_id)

    @get(
        "/{photo_id:str}/display",
        media_type="image/jpeg",
        responses=problem_docs(401, 403, 404, 413, 422, 503),
        summary=f"An upright JPEG at most {DISPLAY_PX} px, of any format (HEIC, RAW, TIFF); made once, then cached",
    )
    async def display(
        self, services: NamedDependency[ApiServices], request: Request[object, object, State], photo_id: FromPath[str]
    ) -> File:
        """What the photo view shows: browsers cannot show HEIC, RAW or TIFF, and an original may be 50 MB."""
        point = await services.photos.get(photo_id)
        etag = f'"{content_hash(point, "display image")}-d{DISPLAY_PX}"'
        if _matches(request, etag):
            return _not_modified(_image_headers(etag))
        path = await services.photos.display(point)
        return _image(path, etag, photo_id)

    @get(
        "/{photo_id:str}/original",
        media_type="application/octet-stream",
        responses=problem_docs(401, 403, 404),
        summary="The original file, streamed with its own content type",
    )
    async def original(
        self, services: NamedDependency[ApiServices], request: Request[object, object, State], photo_id: FromPath[str]
    ) -> File:
        point = await services.photos.get(photo_id)
        path = services.photos.original_path(point)
        mtime_ns = point.payload.mtime_ns
        etag = f'"{point.payload.sha256 or ""}-{mtime_ns if mtime_ns is not None else ""}"'
        headers = {"Cache-Control": ORIGINAL_CACHE, "ETag": etag}
        if _matches(request, etag):
            return _not_modified(headers)
        name = point.payload.name or path.name
        return File(
            path, media_type=media_type(point), content_disposition_type="inline", filename=str(name), headers=headers
        )

    @get(
        "/{photo_id:str}/similar",
        dependencies={"conditions": Provide(query_filters)},
        responses=problem_docs(400, 401, 404, 409),
        summary="Photos that look like this one",
    )
    async def similar(
        self,
        services: NamedDependency[ApiServices],
        conditions: NamedDependency[FilterSpec],
        photo_id: FromPath[str],
        limit: Limit = 20,
        offset: Offset = 0,
        cursor: CursorParam = None,
    ) -> SearchPage:
        point = await services.photos.get(photo_id, with_vector=True)
        vector = point.vector
        if vector is None:
            raise Rejected(f"photo {point.id} has no embedding yet", reason="conflict")

        async def same_vector() -> tuple[np.ndarray, str | None]:
            return vector, None

        return await ranked_page(
            services,
            same_vector,
            conditions,
            query=("similar", point.id),
            limit=limit,
            offset=offset,
            cursor=cursor,
            exclude=frozenset({point.id}),
        )

    @post("/remove", status_code=200, responses=problem_docs(400, 401, 413, 503), summary="Remove photos")
    async def remove(self, services: NamedDependency[ApiServices], data: JSONBody[RemoveRequest]) -> RemoveResult:
        """Take photos out of the index; with ``trash`` their files go to the desktop trash (never deleted)."""
        outcomes = await remove_photos(
            services.store, services.writer, services.photos, data.ids, trash=data.trash, limiter=services.store_limiter
        )
        services.catalog.invalidate()
        removed = sum(o.removed for o in outcomes)
        note = None if data.trash else "the files stay on disk; a rescan of their folder indexes them again"
        return RemoveResult(
            [RemovalOut(o.id, o.removed, o.trashed, o.code, o.message) for o in outcomes], removed, note
        )


def _image_headers(etag: str) -> dict[str, str]:
    return {"Cache-Control": THUMBNAIL_CACHE, "ETag": etag}


def _image(path: Path, etag: str, photo_id: str) -> File:
    return File(
        path,
        media_type="image/jpeg",
        content_disposition_type="inline",
        headers=_image_headers(etag),
        filename=f"{photo_id}.jpg",
    )


def _matches(request: Request[object, object, State], etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    return wanted is not None and (wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")])


def _not_modified(headers: dict[str, str]) -> File:
    # A 304 has no body; typed as the route's File so the OpenAPI schema keeps naming the image.
    response: Response[bytes] = Response(content=b"", status_code=304, headers=headers)
    return cast(File, response)


__all__ = ["PhotosController"]
