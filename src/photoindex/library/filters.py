"""Search filters as the library speaks them, and their translation to the store's ``PhotoFilter``.

Everything maps onto store conditions except a radius around a point, which
the store cannot express: it becomes the circle's bounding box in the store
plus an exact great-circle check on what comes back.
"""

from __future__ import annotations

import math
import posixpath

import msgspec

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import GeoBox, GeoPoint, PhotoFilter, PhotoPayload

EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0


class GeoCircle(msgspec.Struct, frozen=True):
    """Photos taken within ``radius_km`` of a point."""

    lat: float
    lon: float
    radius_km: float

    def box(self) -> GeoBox:
        """The smallest latitude/longitude box holding the circle (crossing ±180 when it must)."""
        dlat = self.radius_km / _KM_PER_DEGREE
        min_lat, max_lat = max(-90.0, self.lat - dlat), min(90.0, self.lat + dlat)
        cos_lat = math.cos(math.radians(max(abs(min_lat), abs(max_lat))))
        if max_lat >= 90.0 or min_lat <= -90.0 or cos_lat < 1e-9:
            return GeoBox(min_lat=min_lat, max_lat=max_lat, min_lon=-180.0, max_lon=180.0)
        dlon = dlat / cos_lat
        if dlon >= 180.0:
            return GeoBox(min_lat=min_lat, max_lat=max_lat, min_lon=-180.0, max_lon=180.0)
        return GeoBox(min_lat=min_lat, max_lat=max_lat, min_lon=_wrap(self.lon - dlon), max_lon=_wrap(self.lon + dlon))

    def contains(self, location: GeoPoint | None) -> bool:
        """True when a payload ``location`` lies within the circle."""
        if location is None:
            return False
        return distance_km(self.lat, self.lon, location.lat, location.lon) <= self.radius_km


class SearchFilters(msgspec.Struct, frozen=True, omit_defaults=True):
    """Conditions a result must meet; unset fields do not filter."""

    folder: str | None = None  # an absolute folder: photos anywhere below it
    roots: tuple[str, ...] | None = None
    taken_from_ts: float | None = None  # inclusive
    taken_to_ts: float | None = None  # exclusive
    camera_makes: tuple[str, ...] | None = None
    camera_models: tuple[str, ...] | None = None
    lenses: tuple[str, ...] | None = None
    formats: tuple[str, ...] | None = None
    has_gps: bool | None = None
    geo_box: GeoBox | None = None
    near: GeoCircle | None = None
    min_width: int | None = None
    min_height: int | None = None
    # A place named in a text query (library/query_reading.py): the city's name, region and country code.
    place_city: str | None = None
    place_region: str | None = None
    place_country_code: str | None = None

    def store_filter(self, *, statuses: tuple[str, ...] | None = (PhotoStatus.INDEXED,)) -> PhotoFilter:
        """The store's filter; vector searches pass ``statuses=None`` (only indexed points have vectors)."""
        # With both a box and a circle the store takes the box and ``accepts`` the circle: both hold.
        box = self.geo_box if self.geo_box is not None or self.near is None else self.near.box()
        return PhotoFilter(
            roots=self.roots,
            path_prefix=posixpath.normpath(self.folder) if self.folder else None,
            statuses=statuses,
            taken_from_ts=self.taken_from_ts,
            taken_to_ts=self.taken_to_ts,
            camera_makes=self.camera_makes,
            camera_models=self.camera_models,
            lenses=self.lenses,
            formats=self.formats,
            has_gps=True if self.near is not None else self.has_gps,
            geo_box=box,
            min_width=self.min_width,
            min_height=self.min_height,
            place_cities=_one(self.place_city),
            place_regions=_one(self.place_region),
            place_country_codes=_one(self.place_country_code),
        )

    def accepts(self, payload: PhotoPayload) -> bool:
        """The conditions the store could not apply (the radius); everything else is already true."""
        return self.near is None or self.near.contains(payload.location)

    @property
    def exact_in_store(self) -> bool:
        """True when the store alone decides (counts and paging are exact)."""
        return self.near is None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _one(value: str | None) -> tuple[str, ...] | None:
    return (value,) if value is not None else None


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


__all__ = ["GeoCircle", "SearchFilters", "distance_km"]
