"""Each query form read into filters, against a place index built from a real snapshot, with an injected today."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import numpy as np
import pytest

from photoindex.library.captions_index import CaptionIndex
from photoindex.library.filters import SearchFilters
from photoindex.library.place_index import PlaceIndex
from photoindex.library.query_dates import season_range
from photoindex.library.query_reading import EMPTY_TEXT, read_query
from photoindex.library.snapshot import Snapshot
from photoindex.library.version import LibraryVersion

TODAY = date(2026, 7, 15)  # a Wednesday in the northern summer
PLACES = (
    ("Lisbon", "Lisbon", "Portugal", "PT", 38.72, 4),
    ("Paris", "Île-de-France", "France", "FR", 48.86, 3),
    ("Paris", "Texas", "United States", "US", 33.66, 1),
    ("Kyoto", "Kyoto", "Japan", "JP", 35.01, 2),
    ("Sydney", "New South Wales", "Australia", "AU", -33.87, 1),
    ("Reykjavík", "Capital Region", "Iceland", "IS", 64.15, 1),
)


def _snapshot() -> Snapshot:
    """Columns as ``take_snapshot`` fills them: one row per photo, a place code and a latitude each."""
    codes: list[int] = []
    lats: list[float] = []
    for code, (*_names, lat, count) in enumerate(PLACES):
        codes += [code] * count
        lats += [lat] * count
    codes.append(-1)  # a photo without GPS
    lats.append(np.nan)
    n = len(codes)
    return Snapshot(
        version=LibraryVersion(photos=n, indexed=n, captioned=0),
        ids=np.frombuffer(b"".join(uuid.uuid4().bytes for _ in range(n)), dtype="V16"),
        status=np.zeros(n, dtype=np.uint8),
        size=np.zeros(n, dtype=np.int64),
        width=np.zeros(n, dtype=np.int32),
        height=np.zeros(n, dtype=np.int32),
        mtime_ns=np.zeros(n, dtype=np.int64),
        sha256=np.zeros(n, dtype="V32"),
        phash=np.zeros(n, dtype=np.uint64),
        has_phash=np.zeros(n, dtype=bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
        place=np.array(codes, dtype=np.int32),
        place_names=tuple(p[:4] for p in PLACES),
        lat=np.array(lats, dtype=np.float32),
    )


@pytest.fixture(scope="module")
def places() -> PlaceIndex:
    return PlaceIndex.from_snapshot(_snapshot())


def _read(query: str, places: PlaceIndex) -> tuple[str, str | None, tuple[str, str] | None]:
    reading = read_query(query, places, TODAY)
    assert reading is not None, query
    taken = (reading.taken[0].isoformat(), reading.taken[1].isoformat()) if reading.taken else None
    return reading.text, reading.place_label, taken


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("beach in Lisbon last summer", ("beach", "Lisbon, PT", ("2025-06-21", "2025-09-22"))),
        ("snow, December 2021", ("snow", None, ("2021-12-01", "2021-12-31"))),
        ("dinner in Kyoto", ("dinner", "Kyoto, JP", None)),
        ("dinner in kyoto", ("dinner", "Kyoto, JP", None)),  # lower case, after "in"
        ("2021", (EMPTY_TEXT, None, ("2021-01-01", "2021-12-31"))),
        ("May 2023", (EMPTY_TEXT, None, ("2023-05-01", "2023-05-31"))),
        ("christmas 2019", (EMPTY_TEXT, None, ("2019-12-24", "2019-12-26"))),
        ("yesterday", (EMPTY_TEXT, None, ("2026-07-14", "2026-07-14"))),
        ("cats last week", ("cats", None, ("2026-07-06", "2026-07-12"))),
        ("last month", (EMPTY_TEXT, None, ("2026-06-01", "2026-06-30"))),
        ("easter 2024", (EMPTY_TEXT, None, ("2024-03-29", "2024-04-01"))),
        ("fireworks on new year's eve 2020", ("fireworks", None, ("2020-12-31", "2020-12-31"))),
        ("dogs 14 May 2021", ("dogs", None, ("2021-05-14", "2021-05-14"))),
        ("harbour 2023-08-09", ("harbour", None, ("2023-08-09", "2023-08-09"))),
        ("winter 2021", (EMPTY_TEXT, None, ("2021-12-21", "2022-03-19"))),
        ("geysers in reykjavik", ("geysers", "Reykjavík, IS", None)),  # accents do not matter
        ("temples in Japan 2024", ("temples", "Japan", ("2024-01-01", "2024-12-31"))),
    ],
)
def test_query_forms(query: str, expected: tuple[str, str | None, tuple[str, str] | None], places: PlaceIndex) -> None:
    assert _read(query, places) == expected


def test_seasons_follow_the_hemisphere_of_the_place(places: PlaceIndex) -> None:
    reading = read_query("Sydney last summer", places, TODAY)
    assert reading is not None and reading.south is True
    assert reading.taken == (date(2025, 12, 21), date(2026, 3, 19))
    assert season_range("summer", 2025, south=False) == (date(2025, 6, 21), date(2025, 9, 22))


def test_ambiguous_name_goes_to_the_place_with_more_photos(places: PlaceIndex) -> None:
    reading = read_query("Paris", places, TODAY)
    assert reading is not None and reading.city is not None
    assert (reading.city.country_code, [a.label for a in reading.alternatives]) == ("FR", ["Paris, US"])
    texas = read_query("rodeo in Paris, Texas", places, TODAY)
    assert texas is not None and texas.city is not None
    assert (texas.text, texas.city.region, texas.city.country_code) == ("rodeo", "Texas", "US")
    coded = read_query("Paris US", places, TODAY)
    assert coded is not None and coded.city is not None and coded.city.country_code == "US"


@pytest.mark.parametrize("query", ["red kite over a beach", "nice beach", "paris hilton", "a cat in a box"])
def test_a_query_without_place_or_date_is_left_alone(query: str, places: PlaceIndex) -> None:
    """Unknown words stay text; a lower-case place name without "in" is a description ("paris hilton")."""
    assert read_query(query, places, TODAY) is None


def test_filters_are_the_local_days_and_the_place(places: PlaceIndex) -> None:
    reading = read_query("beach in Lisbon May 2023", places, TODAY)
    assert reading is not None
    narrowed = reading.narrow(SearchFilters(taken_from_ts=datetime(2023, 5, 10, tzinfo=UTC).timestamp()))
    assert narrowed.taken_from_ts == datetime(2023, 5, 10, tzinfo=UTC).timestamp()  # the stricter bound holds
    assert narrowed.taken_to_ts == datetime(2023, 6, 1, tzinfo=UTC).timestamp()
    store = narrowed.store_filter()
    assert (store.place_cities, store.place_regions, store.place_country_codes) == (("Lisbon",), ("Lisbon",), ("PT",))


def test_place_counts_from_the_snapshot(places: PlaceIndex) -> None:
    assert [(c.country_code, c.count) for c in places.countries] == [
        ("PT", 4),
        ("FR", 3),
        ("JP", 2),
        ("AU", 1),
        ("IS", 1),
        ("US", 1),
    ]
    assert (places.with_place, places.gps_photos, places.south) == (12, 12, False)
