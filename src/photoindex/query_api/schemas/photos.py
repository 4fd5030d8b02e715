"""One photo with everything the index knows about it, and bulk removal."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoPayload
from photoindex.query_api.schemas.common import API_PREFIX

# "+gps": the offset of a camera's wall-clock time came from the time zone at the photo's GPS position.
TakenAtSource = Literal["exif", "filename", "mtime", "exif+gps", "filename+gps"]
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


def photo_info(point_id: str, payload: PhotoPayload) -> PhotoInfo:
    location = payload.location
    gps = Gps(location.lat, location.lon, payload.gps_alt) if location is not None else None
    error = None
    if payload.status == PhotoStatus.FAILED:
        error = Failure(payload.error_code if payload.error_code is not None else "ERR_DECODE", payload.error_message)
    return PhotoInfo(
        id=point_id,
        path=payload.path,
        name=payload.name,
        root=payload.root,
        status=payload.status,
        size=payload.size,
        mtime_ns=payload.mtime_ns,
        sha256=payload.sha256,
        phash=payload.phash,
        format=payload.format,
        width=payload.width,
        height=payload.height,
        orientation=payload.orientation,
        taken_at=payload.taken_at,
        taken_at_source=_taken_at_source(payload),
        camera_make=payload.camera_make,
        camera_model=payload.camera_model,
        lens=payload.lens,
        focal_length=payload.focal_length,
        f_number=payload.f_number,
        exposure_time=payload.exposure_time,
        iso=payload.iso,
        gps=gps,
        caption=payload.caption,
        caption_status=payload.caption_status,
        model_id=payload.model_id,
        indexed_at=payload.indexed_at,
        error=error,
        thumbnail_url=f"{API_PREFIX}/photos/{point_id}/thumbnail",
        original_url=f"{API_PREFIX}/photos/{point_id}/original",
        display_url=f"{API_PREFIX}/photos/{point_id}/display",
        similar_url=f"{API_PREFIX}/photos/{point_id}/similar",
        place=_place(payload),
        taken_at_zone=payload.taken_at_zone,
    )


def _place(payload: PhotoPayload) -> PhotoPlace | None:
    code = payload.place_country_code
    if not code:
        return None
    return PhotoPlace(
        city=payload.place_city or "",
        region=payload.place_region or "",
        country=payload.place_country or code,
        country_code=code,
    )


def _taken_at_source(payload: PhotoPayload) -> TakenAtSource | None:
    source = payload.taken_at_source
    for known in _TAKEN_AT_SOURCES:
        if source == known:
            return known
    if source is None and payload.taken_at is not None:
        return "exif"  # indexed before other sources were read: EXIF was the only one
    return None


__all__ = ["Failure", "Gps", "PhotoInfo", "RemovalOut", "RemoveRequest", "RemoveResult", "photo_info"]
