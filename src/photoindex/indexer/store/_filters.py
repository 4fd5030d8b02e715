"""``PhotoFilter`` → backend-neutral conditions; each adapter renders them.

Both backends speak the same Qdrant filter language but through different
classes (``qdrant_edge`` vs ``qdrant_client.models``). Deciding *what* to ask
happens once, here; ``edge.py`` and ``server.py`` only spell it.
"""

from __future__ import annotations

from dataclasses import dataclass

from photoindex.indexer.store._protocol import GeoBox, PhotoFilter
from photoindex.indexer.store.points import PHOTO_KIND, normalize_dir


@dataclass(frozen=True)
class AnyOf:
    """The field (or one element of a list field) equals one of ``values``."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Between:
    """``gte <= field < lt``; an open end is ``None``."""

    key: str
    gte: float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class InBox:
    """A geo field inside a box (which may cross the antimeridian)."""

    key: str
    box: GeoBox


@dataclass(frozen=True)
class Empty:
    """The field is missing, null or an empty list."""

    key: str


Condition = AnyOf | Between | InBox | Empty


@dataclass(frozen=True)
class Plan:
    """``must`` and ``must_not`` conditions; ``nothing`` when no point can match."""

    must: tuple[Condition, ...]
    must_not: tuple[Condition, ...] = ()
    nothing: bool = False


_ANY_OF_FIELDS = (
    ("host_ids", "host_id"),
    ("roots", "root"),
    ("statuses", "status"),
    ("camera_makes", "camera_make"),
    ("camera_models", "camera_model"),
    ("lenses", "lens"),
    ("formats", "format"),
    ("sha256", "sha256"),
    ("paths", "path"),
    ("place_cities", "place_city"),
    ("place_regions", "place_region"),
    ("place_country_codes", "place_country_code"),
)


def plan(flt: PhotoFilter | None) -> Plan:
    """The conditions for photo points matching ``flt`` (the metadata point never does)."""
    must: list[Condition] = [AnyOf("kind", (PHOTO_KIND,))]
    must_not: list[Condition] = []
    if flt is None:
        return Plan(tuple(must))
    for attr, key in _ANY_OF_FIELDS:
        values: tuple[str, ...] | None = getattr(flt, attr)
        if values is None:
            continue
        if not values:
            return Plan((), nothing=True)
        must.append(AnyOf(key, tuple(values)))
    if flt.path_prefix is not None:
        folder = normalize_dir(flt.path_prefix)
        if folder is not None:
            must.append(AnyOf("dirs", (folder,)))
    if flt.caption_status is not None:
        must.append(AnyOf("caption_status", (flt.caption_status,)))
    if flt.taken_from_ts is not None or flt.taken_to_ts is not None:
        must.append(Between("taken_at_ts", gte=flt.taken_from_ts, lt=flt.taken_to_ts))
    if flt.min_width is not None:
        must.append(Between("width", gte=flt.min_width))
    if flt.min_height is not None:
        must.append(Between("height", gte=flt.min_height))
    if flt.has_gps is True:
        must_not.append(Empty("location"))
    elif flt.has_gps is False:
        must.append(Empty("location"))
    if flt.geo_box is not None:
        must.append(InBox("location", flt.geo_box))
    if flt.has_place is True:
        must_not.append(Empty("place_country_code"))
    elif flt.has_place is False:
        must.append(Empty("place_country_code"))
    return Plan(tuple(must), tuple(must_not))


def for_vector_search(conditions: Plan) -> Plan:
    """``conditions`` without the photo-kind condition, which a vector search needs not check.

    Only photo points carry a vector (the metadata point has none), so a search never
    returns another; an unfiltered search then runs without a filter at all.
    """
    must = tuple(c for c in conditions.must if c != AnyOf("kind", (PHOTO_KIND,)))
    return Plan(must, conditions.must_not, conditions.nothing)


def lon_ranges(box: GeoBox) -> list[tuple[float, float]]:
    """The box's longitude span as one or two ``(west, east)`` ranges, split at ±180."""
    if box.min_lon <= box.max_lon:
        return [(box.min_lon, box.max_lon)]
    return [(box.min_lon, 180.0), (-180.0, box.max_lon)]
