"""When a photo was taken: its EXIF date, else the date in its file name, else its file's mtime.

Screenshots, scans and pictures saved from messaging apps carry no EXIF date,
but phones, screenshot tools and messengers write one into the file name
(``IMG_20230514_153012.jpg``, ``PXL_20230514_153012345.jpg``,
``Screenshot 2023-05-14 at 15.30.12.png``, ``IMG-20230514-WA0001.jpg``,
``signal-2023-05-14-15-30-12-123.jpg``). A name date is a local wall-clock
time, like an EXIF date without an offset, so it is kept without one; a name
holding only a day gives a bare ISO date. The mtime is an instant and is
written in the indexing machine's zone, with its offset.

Every candidate is validated: a real calendar date, a year between
``MIN_YEAR`` and next year. ``20231399`` in a name or a 1970 mtime (a reset
clock, a FAT default) is no date at all.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

__all__ = ["MIN_YEAR", "TakenSource", "date_from_mtime", "date_from_name", "taken_fields"]

TakenSource = Literal["exif", "filename", "mtime"]

# Digital cameras and phones name files from the 1990s on; an earlier "date" in a name is a number.
MIN_YEAR = 1990
# Capture and file times may run ahead of this machine's clock by a zone or a badly set camera.
_FUTURE_SLACK = timedelta(days=2)

_YEAR = r"(?P<y>(?:19|20)\d\d)"
# Day and time joined by nothing, "_", "-", "T", " " or " at " (macOS); time parts by nothing or ".-_:".
_DATE_TIME = re.compile(
    rf"(?<!\d){_YEAR}(?P<s>[-_.]?)(?P<m>\d\d)(?P=s)(?P<d>\d\d)"
    r"(?:[ _T-]|\s+at\s+)"
    r"(?P<H>\d{1,2})(?P<t>[-_.:h]?)(?P<M>\d\d)(?P=t)(?P<S>\d\d)"
    r"(?:\d{3}|[-_.]\d{3}(?!\d))?"  # milliseconds (Pixel, Android screenshots, Signal)
    r"(?:\s?(?P<ampm>[AaPp][Mm]))?"  # "Screen Shot 2019-05-14 at 3.30.12 PM"
    r"(?!\d)",
)
_DATE_ONLY = re.compile(rf"(?<!\d){_YEAR}(?P<s>[-_.]?)(?P<m>\d\d)(?P=s)(?P<d>\d\d)(?!\d)")


def date_from_name(name: str, *, now: datetime | None = None) -> str | None:
    """The capture time a file name (or a path's last part) spells, as ISO 8601: a bare date when it has no time."""
    stem = os.path.basename(name)
    latest = _latest(now)
    for match in _DATE_TIME.finditer(stem):
        when = _date_time(match)
        if when is not None and _plausible(when, latest):
            return when.isoformat()
    for match in _DATE_ONLY.finditer(stem):
        try:
            day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:  # month 13, 31 February...
            continue
        if _plausible(datetime(day.year, day.month, day.day), latest):
            return day.isoformat()
    return None


def date_from_mtime(mtime_ns: int, *, now: datetime | None = None) -> str | None:
    """The file's modification time in this machine's zone (with its offset); None when implausible."""
    try:
        when = datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC).astimezone()
    except (OverflowError, OSError, ValueError):
        return None
    if not _plausible(when.replace(tzinfo=None), _latest(now)):
        return None
    return when.isoformat(timespec="seconds")


def taken_fields(exif_taken_at: str | None, path: str, mtime_ns: int) -> dict[str, str | float]:
    """``taken_at``, ``taken_at_source`` and the filterable ``taken_at_ts`` for one file (empty: no date)."""
    source: TakenSource
    if exif_taken_at:
        taken, source = exif_taken_at, "exif"
    elif (named := date_from_name(path)) is not None:
        taken, source = named, "filename"
    elif (modified := date_from_mtime(mtime_ns)) is not None:
        taken, source = modified, "mtime"
    else:
        return {}
    fields: dict[str, str | float] = {"taken_at": taken, "taken_at_source": source}
    ts = taken_at_timestamp(taken)
    if ts is not None:
        fields["taken_at_ts"] = ts
    return fields


def taken_at_timestamp(taken_at: str) -> float | None:
    """Seconds since the epoch; a time without an offset is read as UTC (cameras rarely record one)."""
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _date_time(match: re.Match[str]) -> datetime | None:
    hour = int(match["H"])
    ampm = (match["ampm"] or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    try:
        return datetime(int(match["y"]), int(match["m"]), int(match["d"]), hour, int(match["M"]), int(match["S"]))
    except ValueError:  # hour 25, minute 61, month 13...
        return None


def _latest(now: datetime | None) -> datetime:
    reference = now if now is not None else datetime.now()
    return reference.replace(tzinfo=None) + _FUTURE_SLACK


def _plausible(when: datetime, latest: datetime) -> bool:
    return when.year >= MIN_YEAR and when <= latest
