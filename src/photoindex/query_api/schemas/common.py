"""Wire records shared by several endpoints: a photo in a list, the library's version."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

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


def _text(payload: Mapping[str, object], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _number(payload: Mapping[str, object], key: str) -> int | None:
    value = payload.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def photo_summary(point_id: str, payload: Mapping[str, object]) -> PhotoSummary:
    return PhotoSummary(
        id=point_id,
        path=_text(payload, "path"),
        name=_text(payload, "name"),
        width=_number(payload, "width"),
        height=_number(payload, "height"),
        format=_text(payload, "format"),
        taken_at=_text(payload, "taken_at"),
        camera_make=_text(payload, "camera_make"),
        camera_model=_text(payload, "camera_model"),
        caption=_text(payload, "caption"),
        status=_text(payload, "status"),
        size=_number(payload, "size"),
        thumbnail_url=f"{API_PREFIX}/photos/{point_id}/thumbnail",
    )


__all__ = ["API_PREFIX", "PhotoSummary", "VersionInfo", "photo_summary"]
