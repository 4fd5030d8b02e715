"""A photo's local time from where it was taken: the time zone at its GPS position, offline.

Cameras write a wall-clock time and rarely its UTC offset. With GPS, the
zone at the position (``tzfpy``: the timezone-boundary-builder polygons in
a Rust extension, ~35 MB resident once loaded, ~0.2 µs a lookup; chosen over
``timezonefinder`` for that speed and because it has no numba/numpy path to
warm up) plus ``zoneinfo`` gives the offset that held at that moment, DST
included, so ``taken_at`` gains its offset and ``taken_at_utc_ts`` the
instant. ``taken_at_ts``, which date filters use, stays the local wall
clock read as UTC: a filter on 2024-03-31 means that day where the photo
was taken, on either side of the date line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimeZones", "localized_fields"]


class TimeZones:
    """IANA zone names by position; the polygon data loads at first use (thread-safe)."""

    def __init__(self) -> None:
        self._get_tz: Callable[[float, float], str] | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._get_tz is not None

    def load(self) -> None:
        """Load the zone polygons (blocking, ~0.1 s): call it from a worker thread before the first lookup."""
        self._lookup()

    def zone_at(self, lat: float, lon: float) -> str | None:
        """The zone name at a position (``Etc/GMT±n`` at sea); None for an impossible coordinate."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return None
        name = self._lookup()(lon, lat)
        return str(name) if name else None

    def _lookup(self) -> Callable[[float, float], str]:
        """tzfpy's ``get_tz(lon, lat)``, imported (which loads the polygons) by the first caller."""
        if self._get_tz is None:
            with self._lock:
                if self._get_tz is None:
                    from tzfpy import get_tz  # the polygons load with the module

                    get_tz(0.0, 51.5)
                    self._get_tz = get_tz
        return self._get_tz


def localized_fields(taken_at: str, zone: str) -> dict[str, str | float] | None:
    """``taken_at`` with the zone's offset at that moment, the zone and the UTC instant; None when not a naive time.

    A time that already carries an offset (EXIF ``OffsetTimeOriginal``) is the camera's word and is kept.
    A wall-clock time that falls in a DST gap or fold is read as the first of its two meanings (``fold=0``).
    """
    try:
        wall = datetime.fromisoformat(taken_at)
        tz = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    if wall.tzinfo is not None:
        return None
    local = wall.replace(tzinfo=tz)
    # A bare date ("2023-05-14" from a file name) has no time to shift: keep it a date.
    text = local.isoformat(timespec="seconds") if "T" in taken_at or " " in taken_at else taken_at
    return {"taken_at": text, "taken_at_zone": zone, "taken_at_utc_ts": local.timestamp()}
