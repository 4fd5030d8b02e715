"""One photo with everything the index knows about it, and bulk removal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

import msgspec
from msgspec import Meta

from photoindex.indexer.status import PhotoStatus
from photoindex.query_api.schemas.common import API_PREFIX

# "+gps": the offset of a camera's wall-clock time came from the time zone at the photo's GPS position.
TakenAtSource = Literal["exif", "filename", "mtime", "exif+gps", "filename+gps"]
T = TypeVar("T")
_TAKEN_AT_SOURCES: tuple[TakenAtSource, ...] = ("exif", "filename", "mtime", "exif+gps", "filename+gps")


class Gps(msgspec.Struct):
    lat: float
    lon: float
    alt: float | None = None


class PhotoPlace(msgspec.Struct):
    """Where the photo was taken, named offline from its GPS position (GeoNames)."""

    city: str
    region: str
    country: str
    country_code: str


class Failure(msgspec.Struct):
    code: str
    message: str | None


class PhotoInfo(msgspec.Struct, kw_only=True):
    """All metadata, the caption, and the error if the file could not be indexed."""

    id: str
    path: str | None
    name: str | None
    root: str | None
    status: str | None  # indexed | pending (no embedding yet) | failed
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    phash: str | None
    format: str | None
    width: int | None
    height: int | None
    orientation: int | None
    taken_at: str | None
    taken_at_source: TakenAtSource | None  # where ``taken_at`` was read: EXIF, the file's name, its mtime (+gps)
    camera_make: str | None
    camera_model: str | None
    lens: str | None
    focal_length: float | None
    f_number: float | None
    exposure_time: float | None
    iso: int | None
    gps: Gps | None
    caption: str | None
    caption_status: str | None
    model_id: str | None
    indexed_at: str | None
    error: Failure | None
    thumbnail_url: str
    original_url: str
    display_url: str  # an upright JPEG of at most 1600 px, whatever the original's format
    similar_url: str
    place: PhotoPlace | None = None
    taken_at_zone: str | None = None  # the IANA zone at its GPS position, whose offset ``taken_at`` carries


class RemoveRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Photos to take out of the index; ``trash`` also moves their files to the desktop trash."""

    ids: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(min_length=1, max_length=1000)]
    trash: bool = False


class RemovalOut(msgspec.Struct):
    id: str
    removed: bool
    trashed: bool
    code: str | None = None
    message: str | None = None


class RemoveResult(msgspec.Struct):
    results: list[RemovalOut]
    removed: int
    note: str | None = None


def _get(payload: Mapping[str, object], key: str, kind: type[T]) -> T | None:
    value = payload.get(key)
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


def _real(payload: Mapping[str, object], key: str) -> int | float | None:
    """A number as stored (an int stays an int in the JSON); a bool is not one."""
    value = payload.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def photo_info(point_id: str, payload: Mapping[str, object]) -> PhotoInfo:
    location = payload.get("location")
    gps = None
    if isinstance(location, dict) and isinstance(location.get("lat"), int | float):
        gps = Gps(float(location["lat"]), float(location["lon"]), _real(payload, "gps_alt"))
    error = None
    if payload.get("status") == PhotoStatus.FAILED:
        error = Failure(str(payload.get("error_code", "ERR_DECODE")), _get(payload, "error_message", str))
    return PhotoInfo(
        id=point_id,
        path=_get(payload, "path", str),
        name=_get(payload, "name", str),
        root=_get(payload, "root", str),
        status=_get(payload, "status", str),
        size=_get(payload, "size", int),
        mtime_ns=_get(payload, "mtime_ns", int),
        sha256=_get(payload, "sha256", str),
        phash=_get(payload, "phash", str),
        format=_get(payload, "format", str),
        width=_get(payload, "width", int),
        height=_get(payload, "height", int),
        orientation=_get(payload, "orientation", int),
        taken_at=_get(payload, "taken_at", str),
        taken_at_source=_taken_at_source(payload),
        camera_make=_get(payload, "camera_make", str),
        camera_model=_get(payload, "camera_model", str),
        lens=_get(payload, "lens", str),
        focal_length=_float(_real(payload, "focal_length")),
        f_number=_float(_real(payload, "f_number")),
        exposure_time=_float(_real(payload, "exposure_time")),
        iso=_get(payload, "iso", int),
        gps=gps,
        caption=_get(payload, "caption", str),
        caption_status=_get(payload, "caption_status", str),
        model_id=_get(payload, "model_id", str),
        indexed_at=_get(payload, "indexed_at", str),
        error=error,
        thumbnail_url=f"{API_PREFIX}/photos/{point_id}/thumbnail",
        original_url=f"{API_PREFIX}/photos/{point_id}/original",
        display_url=f"{API_PREFIX}/photos/{point_id}/display",
        similar_url=f"{API_PREFIX}/photos/{point_id}/similar",
        place=_place(payload),
        taken_at_zone=_get(payload, "taken_at_zone", str),
    )


def _place(payload: Mapping[str, object]) -> PhotoPlace | None:
    code = _get(payload, "place_country_code", str)
    if not code:
        return None
    return PhotoPlace(
        city=_get(payload, "place_city", str) or "",
        region=_get(payload, "place_region", str) or "",
        country=_get(payload, "place_country", str) or code,
        country_code=code,
    )


def _taken_at_source(payload: Mapping[str, object]) -> TakenAtSource | None:
    source = payload.get("taken_at_source")
    for known in _TAKEN_AT_SOURCES:
        if source == known:
            return known
    if source is None and isinstance(payload.get("taken_at"), str):
        return "exif"  # indexed before other sources were read: EXIF was the only one
    return None


def _float(value: float | None) -> float | None:
    return float(value) if value is not None else None


__all__ = ["Failure", "Gps", "PhotoInfo", "RemovalOut", "RemoveRequest", "RemoveResult", "photo_info"]
