"""Dates and periods in a search text: "2021", "May 2023", "last summer", "christmas 2019", "yesterday".

A small grammar of our own rather than ``dateparser``: importing that costs
~60 MB and ~1 s, its ``search_dates`` takes tens of ms a query, and it
reads ordinary words as dates ("may", "second", "march" as a verb). Here a
month name counts only with a year, and a bare season only with "last"/
"this" or a year: "summer" alone means every summer, which one range cannot say.

Seasons are astronomical, rounded to days (summer: 21 June – 22 September
in the north); in the southern hemisphere the names swap (summer: 21
December – 19 March). "winter 2021" is the winter that begins in December
2021 in the north. Relative words count from ``today``, which the caller
passes (the server's local date; tests inject it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DateMatch", "find_date", "season_range"]

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
# (first month, first day) of each northern season; it ends the day before the next one starts.
_NORTH_STARTS = {"spring": (3, 20), "summer": (6, 21), "autumn": (9, 23), "winter": (12, 21)}
_ORDER = ("spring", "summer", "autumn", "winter")
_SOUTH_TWIN = {"spring": "autumn", "summer": "winter", "autumn": "spring", "winter": "summer"}
_HOLIDAYS = (
    "christmas eve",
    "christmas",
    "xmas",
    "new year's eve",
    "new years eve",
    "new year's day",
    "new years day",
    "new year's",
    "new years",
    "new year",
    "halloween",
    "valentine's day",
    "valentines day",
    "easter",
)
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_SEASON = r"spring|summer|autumn|fall|winter"
_HOLIDAY = "|".join(re.escape(h).replace("'", "['’]?") for h in _HOLIDAYS)
_YEAR = r"(?:19|20)\d\d"
_PATTERNS = (
    ("iso", rf"(?P<y>{_YEAR})-(?P<m>\d\d)-(?P<d>\d\d)"),
    ("day", rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\.?,?\s+(?P<y>{_YEAR})"),
    ("day", rf"(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>{_YEAR})"),
    ("month", rf"(?P<mon>{_MONTH})\.?,?\s+(?:of\s+)?(?P<y>{_YEAR})"),
    ("relative", rf"(?P<rel>last|this|past)\s+(?P<what>week|month|year|{_SEASON}|{_HOLIDAY})"),
    ("named", rf"(?P<what>{_SEASON}|{_HOLIDAY})\s+(?:of\s+|in\s+)?(?P<y>{_YEAR})"),
    ("named", rf"(?P<y>{_YEAR})\s+(?P<what>{_SEASON}|{_HOLIDAY})"),
    ("word", r"(?P<word>yesterday|today)"),
    ("year", rf"(?P<y>{_YEAR})"),
    ("named", rf"(?P<what>{_HOLIDAY})"),  # a bare holiday: the latest one
)
_REGEXES = tuple((kind, re.compile(rf"(?<![\w-]){p}(?![\w-])", re.IGNORECASE)) for kind, p in _PATTERNS)


@dataclass(frozen=True)
class DateMatch:
    """A period named in a query: its first and last day (inclusive) and where it was written."""

    first: date
    last: date
    start: int
    end: int
    season: bool  # a season word decided it (so the hemisphere mattered)


def find_date(text: str, today: date, *, south: bool = False) -> DateMatch | None:
    """The first period ``text`` names (the earliest in the text; at one position, the longest form)."""
    found: list[tuple[int, int, DateMatch]] = []
    for kind, regex in _REGEXES:
        for match in regex.finditer(text):
            period = _period(kind, match, today, south)
            if period is not None:
                first, last, season = period
                found.append((match.start(), -match.end(), DateMatch(first, last, match.start(), match.end(), season)))
                break
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def season_range(name: str, year: int, *, south: bool) -> tuple[date, date]:
    """The first and last day of a season named in ``year`` (the one that begins in that year)."""
    name = "autumn" if name == "fall" else name
    north = _SOUTH_TWIN[name] if south else name
    month, day = _NORTH_STARTS[north]
    first = date(year, month, day)
    following = _ORDER[(_ORDER.index(north) + 1) % 4]
    next_month, next_day = _NORTH_STARTS[following]
    last = date(year + (1 if following == "spring" else 0), next_month, next_day) - timedelta(days=1)
    return first, last


def _period(kind: str, match: re.Match[str], today: date, south: bool) -> tuple[date, date, bool] | None:
    groups = match.groupdict()
    year = int(groups["y"]) if groups.get("y") else None
    try:
        if kind == "iso" or kind == "day":
            assert year is not None
            month = int(groups["m"]) if kind == "iso" else MONTHS[groups["mon"].lower()]
            day = date(year, month, int(groups["d"]))
            return day, day, False
        if kind == "month":
            assert year is not None
            first = date(year, MONTHS[groups["mon"].lower()], 1)
            return first, _month_end(first), False
        if kind == "year":
            assert year is not None
            return (date(year, 1, 1), date(year, 12, 31), False) if year <= today.year + 1 else None
        if kind == "word":
            day = today - timedelta(days=1) if groups["word"].lower() == "yesterday" else today
            return day, day, False
        what = _holiday_key(groups["what"])
        if kind == "named":
            return _named(what, year, today, south)
        return _relative(groups["rel"].lower(), what, today, south)
    except ValueError:  # 31 February and the like
        return None


def _holiday_key(text: str) -> str:
    key = re.sub(r"['’]", "", text.lower())
    key = re.sub(r"\s+", " ", key)
    return {"xmas": "christmas", "fall": "autumn", "valentines day": "valentines day"}.get(key, key)


def _named(what: str, year: int | None, today: date, south: bool) -> tuple[date, date, bool] | None:
    if year is not None:
        first, last = _occurrence(what, year, south)
        return first, last, what in _NORTH_STARTS
    if what in _NORTH_STARTS:
        return None  # "summer" alone: every summer
    return (*_latest(what, today, south), False)


def _relative(rel: str, what: str, today: date, south: bool) -> tuple[date, date, bool]:
    if what == "week":
        monday = today - timedelta(days=today.weekday())
        return (monday, today, False) if rel == "this" else (monday - timedelta(7), monday - timedelta(1), False)
    if what == "month":
        first = today.replace(day=1)
        if rel == "this":
            return first, today, False
        previous = (first - timedelta(days=1)).replace(day=1)
        return previous, first - timedelta(days=1), False
    if what == "year":
        if rel == "this":
            return date(today.year, 1, 1), today, False
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), False
    season = what in _NORTH_STARTS
    if rel == "this":
        for year in (today.year - 1, today.year):
            first, last = _occurrence(what, year, south)
            if first <= today <= last:
                return first, last, season
        first, last = _occurrence(what, today.year, south)
        return first, last, season
    return (*_latest(what, today, south), season)


def _latest(what: str, today: date, south: bool) -> tuple[date, date]:
    """The latest occurrence that has ended before ``today``."""
    for year in range(today.year, today.year - 3, -1):
        first, last = _occurrence(what, year, south)
        if last < today:
            return first, last
    return _occurrence(what, today.year - 1, south)


def _occurrence(what: str, year: int, south: bool) -> tuple[date, date]:
    if what in _NORTH_STARTS:
        return season_range(what, year, south=south)
    if what == "christmas":
        return date(year, 12, 24), date(year, 12, 26)
    if what == "christmas eve":
        return date(year, 12, 24), date(year, 12, 24)
    if what in ("new years eve",):
        return date(year, 12, 31), date(year, 12, 31)
    if what in ("new years", "new year", "new years day"):
        return date(year - 1, 12, 31), date(year, 1, 1)
    if what == "halloween":
        return date(year, 10, 31), date(year, 10, 31)
    if what == "valentines day":
        return date(year, 2, 14), date(year, 2, 14)
    assert what == "easter", what
    sunday = _easter(year)
    return sunday - timedelta(days=2), sunday + timedelta(days=1)  # Good Friday to Easter Monday


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _month_end(first: date) -> date:
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return following - timedelta(days=1)
