"""Place and local-time payload fields for a photo with GPS, at index time and as a back-fill.

One ``GeoLookup`` per process holds the geocoder and the time-zone finder;
both load lazily (the daemon's idle memory stays as it was until a photo
with GPS arrives). The pipeline calls ``load`` in a worker thread before
its first lookup, so the event loop never waits on the data files.
"""

from __future__ import annotations

from collections.abc import Mapping

from photoindex.indexer.decoding.geocoder import Geocoder
from photoindex.indexer.decoding.local_time import TimeZones, localized_fields
from photoindex.indexer.store.payload import PhotoPayload

__all__ = ["GPS_ZONE_SUFFIX", "PLACE_FIELDS", "ZONE_FIELDS", "GeoLookup", "coordinates"]

PLACE_FIELDS = ("place_city", "place_region", "place_country", "place_country_code")
ZONE_FIELDS = ("taken_at_zone", "taken_at_utc_ts")
# ``taken_at_source`` gains this suffix when the offset of ``taken_at`` came from the GPS time zone
# ("exif+gps", "filename+gps"); without it the time is as the file gave it (no offset: read as UTC).
GPS_ZONE_SUFFIX = "+gps"


class GeoLookup:
    """Payload fields derived from a photo's position: its place, its time zone."""

    def __init__(self, geocoder: Geocoder | None = None, zones: TimeZones | None = None) -> None:
        self.geocoder = geocoder if geocoder is not None else Geocoder()
        self.zones = zones if zones is not None else TimeZones()

    @property
    def loaded(self) -> bool:
        return self.geocoder.loaded and self.zones.loaded

    def load(self) -> None:
        """Load both data sets (blocking, under a second): from a worker thread."""
        self.geocoder.load()
        self.zones.load()

    def release(self) -> None:
        """Let the geocoder's data go while the daemon idles (the zone polygons live in their module)."""
        self.geocoder.release()

    def fields(self, lat: float, lon: float, taken: Mapping[str, object]) -> dict[str, str | float]:
        """The ``place_*`` fields, and ``taken`` (``taken_fields``' answer) localized when it is a naive time."""
        out: dict[str, str | float] = {}
        place = self.geocoder.lookup(lat, lon)
        if place is not None:
            out.update(place.fields())
        out.update(self.zoned(lat, lon, taken))
        return out

    def zoned(self, lat: float, lon: float, taken: Mapping[str, object]) -> dict[str, str | float]:
        """The time fields to change: offset, zone and UTC instant, for an EXIF or file-name time without offset."""
        source, taken_at = taken.get("taken_at_source"), taken.get("taken_at")
        if source not in ("exif", "filename") or not isinstance(taken_at, str):
            return {}
        zone = self.zones.zone_at(lat, lon)
        localized = localized_fields(taken_at, zone) if zone else None
        if localized is None:
            return {}
        return {**localized, "taken_at_source": f"{source}{GPS_ZONE_SUFFIX}"}

    def backfill(self, payload: PhotoPayload) -> dict[str, str | float] | None:
        """What a photo indexed before places existed lacks (None: nothing, it has no usable position)."""
        if payload.location is None:
            return None
        taken = {"taken_at_source": payload.taken_at_source, "taken_at": payload.taken_at}
        return self.fields(payload.location.lat, payload.location.lon, taken)


def coordinates(payload: Mapping[str, object]) -> tuple[float, float] | None:
    """``location`` as ``(lat, lon)``; None when absent or malformed."""
    location = payload.get("location")
    if not isinstance(location, Mapping):
        return None
    lat, lon = location.get("lat"), location.get("lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    return float(lat), float(lon)
