"""Wire records shared by several endpoints: a photo in a list, the library's version."""

from __future__ import annotations

import msgspec

from photoindex.indexer.store import PhotoPayload

API_PREFIX = "/api/v1"


class PhotoSummary(msgspec.Struct, kw_only=True):
    """A photo as lists show it; ``GET /photos/{id}`` has everything."""

    id: str
    path: str | None
    name: str | None
    width: int | None
    height: int | None
    format: str | None
    taken_at: str | None
    camera_make: str | None
    camera_model: str | None
    caption: str | None
    status: str | None
    size: int | None
    thumbnail_url: str


class VersionInfo(msgspec.Struct, kw_only=True):
    """The library state a computed answer (duplicates, map) belongs to."""

    key: str
    photos: int
    indexed: int
    last_indexed_at: str | None = None


def photo_summary(point_id: str, payload: PhotoPayload) -> PhotoSummary:
    return PhotoSummary(
        id=point_id,
        path=payload.path,
        name=payload.name,
        width=payload.width,
        height=payload.height,
        format=payload.format,
        taken_at=payload.taken_at,
        camera_make=payload.camera_make,
        camera_model=payload.camera_model,
        caption=payload.caption,
        status=payload.status,
        size=payload.size,
        thumbnail_url=f"{API_PREFIX}/photos/{point_id}/thumbnail",
    )


__all__ = ["API_PREFIX", "PhotoSummary", "VersionInfo", "photo_summary"]
