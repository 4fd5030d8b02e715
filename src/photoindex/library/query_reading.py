"""Read a text query as what, where and when: "beach in Lisbon last summer" → "beach", Lisbon, a date range.

Only places the library holds photos of are recognised (``PlaceIndex``),
and a place name counts when it is capitalised or follows "in", "at",
"from" or "near": "nice beach" stays a description, "Nice beach" and
"beach in nice" name the city. A name held by several places resolves to
the one with the most photos, unless a region or country follows it
("Paris, Texas", "Paris US"); the others are reported as alternatives.
Seasons follow the hemisphere of the matched place, else of most of the
library's photos with GPS. What is not a place or a date is the text that
CLIP (and captions) rank by; a query that names neither is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import msgspec

from photoindex.library.filters import SearchFilters
from photoindex.library.place_index import CountryCount, PlaceCount, PlaceIndex, normalize_name
from photoindex.library.query_dates import DateMatch, find_date

__all__ = ["EMPTY_TEXT", "QueryReading", "read_query", "replace_filters"]

# What is left when a query named only a place and a date: CLIP still needs a text.
EMPTY_TEXT = "a photo"
_CUES = frozenset({"in", "at", "from", "near"})
# Words that only tied the removed parts to the rest ("beach in Lisbon during last summer").
_GLUE = frozenset({"in", "at", "from", "near", "on", "during", "of", "taken", "around"})
_WORD = re.compile(r"[\w'’.-]+")


@dataclass(frozen=True)
class QueryReading:
    """How a query was read: the text for the embedding, the place and the days (inclusive) it names."""

    text: str
    city: PlaceCount | None = None
    country: CountryCount | None = None
    taken: tuple[date, date] | None = None
    south: bool | None = None  # the hemisphere a season word was read in (None: no season)
    alternatives: tuple[PlaceCount, ...] = ()

    @property
    def place_label(self) -> str | None:
        if self.city is not None:
            return self.city.label
        return self.country.label if self.country is not None else None

    def narrow(self, filters: SearchFilters) -> SearchFilters:
        """``filters`` with the place and date of the query added (both must hold)."""
        out = filters
        if self.taken is not None:
            start, end = _day_ts(self.taken[0]), _day_ts(self.taken[1]) + 86_400
            if filters.taken_from_ts is not None:
                start = max(start, filters.taken_from_ts)
            if filters.taken_to_ts is not None:
                end = min(end, filters.taken_to_ts)
            out = replace_filters(out, taken_from_ts=start, taken_to_ts=end)
        if self.city is not None:
            out = replace_filters(
                out, place_city=self.city.city, place_region=self.city.region, place_country_code=self.city.country_code
            )
        elif self.country is not None:
            out = replace_filters(out, place_country_code=self.country.country_code)
        return out


def replace_filters(filters: SearchFilters, **changes: object) -> SearchFilters:
    return msgspec.structs.replace(filters, **changes)


def read_query(query: str, places: PlaceIndex, today: date) -> QueryReading | None:
    """The query's place and period, and the rest of its words; None when it names neither."""
    words = [(m.start(), m.end(), m.group().strip(".")) for m in _WORD.finditer(query)]
    spans: list[tuple[int, int]] = []
    city, country, alternatives, place_span = _find_place(query, words, places)
    if place_span is not None:
        spans.append(place_span)
    south = _south(city, country, places)
    masked = _masked(query, spans)
    found: DateMatch | None = find_date(masked, today, south=south)
    if found is not None:
        spans.append((found.start, found.end))
    if not spans:
        return None
    return QueryReading(
        text=_rest(query, spans),
        city=city,
        country=country,
        taken=(found.first, found.last) if found is not None else None,
        south=south if found is not None and found.season else None,
        alternatives=alternatives,
    )


def _find_place(
    query: str, words: list[tuple[int, int, str]], places: PlaceIndex
) -> tuple[PlaceCount | None, CountryCount | None, tuple[PlaceCount, ...], tuple[int, int] | None]:
    if places.max_words == 0:
        return None, None, (), None
    for size in range(min(places.max_words, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            first, last = words[i], words[i + size - 1]
            cued = i > 0 and words[i - 1][2].lower() in _CUES
            if not (cued or first[2][:1].isupper()):
                continue
            name = normalize_name(query[first[0] : last[1]])
            candidates = places.cities_by_name.get(name)
            if candidates:
                chosen, end = _qualified(query, words, i + size, candidates)
                others = tuple(c for c in candidates if c is not chosen)
                return chosen, None, others, (first[0], end if end is not None else last[1])
            country = places.countries_by_name.get(name)
            if country is not None:
                return None, country, (), (first[0], last[1])
    return None, None, (), None


def _qualified(
    query: str, words: list[tuple[int, int, str]], after: int, candidates: tuple[PlaceCount, ...]
) -> tuple[PlaceCount, int | None]:
    """The candidate a following region, country or country code names ("Paris, Texas"); else the most photographed."""
    for size in (3, 2, 1):
        if after + size > len(words):
            continue
        raw = query[words[after][0] : words[after + size - 1][1]]
        name = normalize_name(raw)
        for candidate in candidates:
            code = size == 1 and raw == candidate.country_code  # "US", as written: not the word "us"
            if code or name in (normalize_name(candidate.region), normalize_name(candidate.country)):
                return candidate, words[after + size - 1][1]
    return candidates[0], None


def _south(city: PlaceCount | None, country: CountryCount | None, places: PlaceIndex) -> bool:
    if city is not None:
        return city.lat < 0
    if country is not None:
        return country.lat < 0
    return places.south


def _masked(query: str, spans: list[tuple[int, int]]) -> str:
    """The query with the spans blanked (same length: positions stay valid)."""
    chars = list(query)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _rest(query: str, spans: list[tuple[int, int]]) -> str:
    """The words outside ``spans``, without the glue words that only tied a span to the rest."""
    masked = _masked(query, spans)
    marker = "\0"
    for start, _end in spans:
        masked = masked[:start] + marker + masked[start + 1 :]
    tokens = re.findall(r"\0|[^\s,;]+", masked)
    kept: list[str] = []
    for index, token in enumerate(tokens):
        if token == marker:
            while kept and kept[-1].lower() in _GLUE:
                kept.pop()
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.lower() in _GLUE and following == marker:
            continue
        kept.append(token)
    text = " ".join(kept).strip(" ,;-")
    return text or EMPTY_TEXT


def _day_ts(day: date) -> float:
    """A local day's start as ``taken_at_ts`` counts it: the wall clock read as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
