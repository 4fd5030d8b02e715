"""Query-string parameters shared by routes: the search filters and paging."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from photoindex.library import Rejected
from photoindex.query_api import limits
from photoindex.query_api.schemas.search import FilterSpec

Limit = Annotated[int, QueryParameter(ge=1, le=limits.MAX_LIMIT, description="results per page")]
Offset = Annotated[
    int,
    QueryParameter(ge=0, le=limits.MAX_OFFSET, description="results to skip (positions shift as the library changes)"),
]
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CursorParam = Annotated[
    str | None,
    QueryParameter(
        max_length=limits.MAX_CURSOR_CHARS,
        pattern=CURSOR_PATTERN,
        description="the previous page's next_cursor: exact paging while the library changes",
    ),
]
# An empty value (``make=``, as an HTML form sends for a field left blank) is no condition.
_ITEM = {"type": "string", "maxLength": limits.MAX_FILTER_CHARS}
_Values = Annotated[list[str] | None, QueryParameter(max_items=limits.MAX_FILTER_VALUES, schema_extra={"items": _ITEM})]
_Path = Annotated[str | None, QueryParameter(max_length=limits.MAX_PATH_CHARS, pattern=limits.ABSOLUTE_PATH_PATTERN)]
_Date = Annotated[
    str | None,
    QueryParameter(min_length=10, max_length=40, pattern=limits.DATE_PATTERN, description="ISO 8601 date or date-time"),
]
_Dimension = Annotated[int | None, QueryParameter(ge=1, le=limits.MAX_DIMENSION)]


async def query_filters(
    folder: Annotated[_Path, QueryParameter(description="photos anywhere below this folder")] = None,
    root: Annotated[_Path, QueryParameter(description="photos of this watched folder")] = None,
    taken_from: _Date = None,
    taken_to: Annotated[_Date, QueryParameter(description="exclusive; a bare date includes that day")] = None,
    make: Annotated[_Values, QueryParameter(description="camera make, as recorded (repeatable)")] = None,
    model: Annotated[_Values, QueryParameter(description="camera model (repeatable)")] = None,
    lens: _Values = None,
    format: Annotated[_Values, QueryParameter(description="JPEG, HEIF, PNG, DNG, ... (repeatable)")] = None,
    has_gps: Annotated[bool | None, QueryParameter()] = None,
    bbox: Annotated[
        str | None, QueryParameter(pattern=limits.BBOX_PATTERN, description="min_lat,min_lon,max_lat,max_lon")
    ] = None,
    near: Annotated[str | None, QueryParameter(pattern=limits.NEAR_PATTERN, description="lat,lon,radius_km")] = None,
    min_width: _Dimension = None,
    min_height: _Dimension = None,
) -> FilterSpec:
    """The filters of a GET search, validated like a JSON ``filters`` object."""
    raw: dict[str, object] = {
        "folder": folder,
        "root": root,
        "taken_from": taken_from,
        "taken_to": taken_to,
        "camera_make": _given(make),
        "camera_model": _given(model),
        "lens": _given(lens),
        "format": _given(format),
        "has_gps": has_gps,
        "min_width": min_width,
        "min_height": min_height,
    }
    if bbox is not None:
        min_lat, min_lon, max_lat, max_lon = (float(v) for v in bbox.split(","))
        raw["bbox"] = {"min_lat": min_lat, "min_lon": min_lon, "max_lat": max_lat, "max_lon": max_lon}
    if near is not None:
        lat, lon, radius = (float(v) for v in near.split(","))
        raw["near"] = {"lat": lat, "lon": lon, "radius_km": min(radius, limits.MAX_RADIUS_KM)}
    try:
        spec = msgspec.convert({k: v for k, v in raw.items() if v is not None}, FilterSpec)
    except msgspec.ValidationError as exc:
        raise Rejected(f"invalid filter: {exc}", reason="invalid") from None
    spec.to_filters()  # dates, paths and exclusive options are checked here, before any work
    return spec


def _given(values: list[str] | None) -> list[str] | None:
    kept = [v for v in values or () if v]
    return kept or None


__all__ = ["CURSOR_PATTERN", "CursorParam", "Limit", "Offset", "query_filters"]
