"""Search requests and results: filters, combined queries with weights and negatives, ranked hits."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from photoindex.indexer.store import GeoBox
from photoindex.library import GeoCircle, Rejected, SearchFilters
from photoindex.query_api import limits
from photoindex.query_api.schemas.common import PhotoSummary
from photoindex.query_api.schemas.places import Interpreted

Latitude = Annotated[float, Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Meta(ge=-180.0, le=180.0)]
FilterValue = Annotated[str, Meta(min_length=1, max_length=limits.MAX_FILTER_CHARS)]
AbsolutePath = Annotated[
    str, Meta(min_length=1, max_length=limits.MAX_PATH_CHARS, pattern=limits.ABSOLUTE_PATH_PATTERN)
]
FilterValues = Annotated[list[FilterValue], Meta(max_length=limits.MAX_FILTER_VALUES)]
Dimension = Annotated[int, Meta(ge=1, le=limits.MAX_DIMENSION)]
DateText = Annotated[str, Meta(min_length=10, max_length=40, pattern=limits.DATE_PATTERN)]
QueryText = Annotated[str, Meta(min_length=1, max_length=limits.MAX_QUERY_CHARS)]
Weight = Annotated[float, Meta(gt=0.0, le=limits.MAX_WEIGHT)]
Limit = Annotated[int, Meta(ge=1, le=limits.MAX_LIMIT)]
Offset = Annotated[int, Meta(ge=0, le=limits.MAX_OFFSET)]


class Bbox(msgspec.Struct, forbid_unknown_fields=True):
    """A latitude/longitude box; ``min_lon > max_lon`` crosses the antimeridian."""

    min_lat: Latitude
    min_lon: Longitude
    max_lat: Latitude
    max_lon: Longitude


class Circle(msgspec.Struct, forbid_unknown_fields=True):
    """Within ``radius_km`` of a point."""

    lat: Latitude
    lon: Longitude
    radius_km: Annotated[float, Meta(ge=0.0, le=limits.MAX_RADIUS_KM)]  # 0: that very place


class FilterSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Conditions every result meets. Dates are ISO 8601 (a bare date in ``taken_to`` includes that day)."""

    folder: AbsolutePath | None = None
    root: AbsolutePath | None = None
    taken_from: DateText | None = None
    taken_to: DateText | None = None
    camera_make: FilterValues | None = None
    camera_model: FilterValues | None = None
    lens: FilterValues | None = None
    format: FilterValues | None = None
    has_gps: bool | None = None
    bbox: Bbox | None = None
    near: Circle | None = None
    min_width: Dimension | None = None
    min_height: Dimension | None = None

    def to_filters(self) -> SearchFilters:
        """``bbox`` and ``near`` together mean both: inside the box and within the circle."""
        box = self.bbox
        return SearchFilters(
            folder=self.folder,
            roots=(self.root,) if self.root else None,
            taken_from_ts=_timestamp(self.taken_from, "taken_from", end=False),
            taken_to_ts=_timestamp(self.taken_to, "taken_to", end=True),
            camera_makes=_values(self.camera_make),
            camera_models=_values(self.camera_model),
            lenses=_values(self.lens),
            formats=_values([f.upper() for f in self.format] if self.format else None),
            has_gps=self.has_gps,
            geo_box=GeoBox(box.min_lat, box.max_lat, box.min_lon, box.max_lon) if box else None,
            near=GeoCircle(self.near.lat, self.near.lon, self.near.radius_km) if self.near else None,
            min_width=self.min_width,
            min_height=self.min_height,
        )


class QueryTerm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One ingredient of a combined query: exactly one of a text, an indexed photo, or an uploaded image."""

    # UNSET, not None: a term names its one ingredient and leaves the others out (null is not a value).
    text: QueryText | UnsetType = UNSET
    photo_id: Annotated[str, Meta(pattern=limits.ID_PATTERN)] | UnsetType = UNSET
    upload_id: Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")] | UnsetType = UNSET
    weight: Weight = 1.0

    def kind(self) -> str:
        given = [k for k in ("text", "photo_id", "upload_id") if getattr(self, k) is not UNSET]
        if len(given) != 1:
            raise Rejected("each query term needs exactly one of text, photo_id, upload_id", reason="invalid")
        return given[0]


class CombinedSearch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Look like the positive terms and unlike the negative ones (their vectors are subtracted)."""

    positive: Annotated[list[QueryTerm], Meta(min_length=1, max_length=limits.MAX_TERMS)]
    negative: Annotated[list[QueryTerm], Meta(max_length=limits.MAX_TERMS)] = msgspec.field(default_factory=list)
    filters: FilterSpec = msgspec.field(default_factory=FilterSpec)
    limit: Limit = limits.DEFAULT_LIMIT
    offset: Offset = 0
    cursor: Annotated[str, Meta(max_length=limits.MAX_CURSOR_CHARS, pattern=r"^[A-Za-z0-9_-]+$")] | None = None


class SearchHitOut(msgspec.Struct, kw_only=True):
    """A ranked photo: ``score`` = ``vector_score`` + caption bonus; ``matched`` says which counted."""

    id: str
    score: float
    vector_score: float
    caption_score: float
    matched: list[str]
    caption_words: list[str]
    photo: PhotoSummary


class SearchPage(msgspec.Struct, kw_only=True):
    """One page, best first (ties by photo id); ``total`` counts what the filters allow (null when not cheap).

    ``next_cursor`` continues exactly where this page ended, however the library changes
    meanwhile; ``next_offset`` is the position after it, which shifts when photos come and go.
    """

    hits: list[SearchHitOut]
    offset: int  # the position of the first hit (with a cursor: as counted when it was made)
    limit: int
    total: int | None
    next_offset: int | None
    next_cursor: str | None = None
    hybrid: bool  # caption words took part in the ranking
    upload_id: str | None = None  # an uploaded query image, reusable in POST /search for an hour
    interpreted: Interpreted | None = None  # text search: the places and dates read from ``q`` (null: none)


def _values(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(dict.fromkeys(values)) if values else None


_DATE = re.compile(limits.DATE_PATTERN)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def _timestamp(text: str | None, name: str, *, end: bool) -> float | None:
    """Seconds since the epoch for a ``limits.DATE_PATTERN`` value (a naive time is UTC, as the
    index reads times without an offset). A day past its month's end rolls over (02-30 is 03-02),
    so every value the schema allows has a meaning."""
    if text is None:
        return None
    match = _DATE.match(text)
    if match is None:
        raise Rejected(f"{name}: expected an ISO 8601 date or date-time, got {text!r}", reason="invalid")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    days = date(int(year), int(month), 1).toordinal() - _EPOCH_DAY + int(day) - 1
    seconds = days * 86_400.0 + int(hour or 0) * 3600 + int(minute or 0) * 60 + int(second or 0)
    seconds += float(fraction or 0)
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    if hour is None and end:
        seconds += 86_400  # a bare date in taken_to includes that day
    return seconds


__all__ = ["Bbox", "Circle", "CombinedSearch", "FilterSpec", "QueryTerm", "SearchHitOut", "SearchPage"]
