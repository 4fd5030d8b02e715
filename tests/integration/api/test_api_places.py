"""Places and times end to end: real JPEGs with EXIF GPS and dates, the real pipeline and stores, real HTTP.

The library: Lisbon in summer and winter, three photos in Paris (France), one
in Paris (Texas), Kyoto, Sydney in its summer, Apia and Honolulu at the same
wall-clock time, a photo across Lisbon's DST change, and one without GPS.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar.testing import TestClient

from photoindex.daemon.place_backfill import backfill_places
from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import VectorStore, payload_to_dict
from photoindex.indexer.writer import IndexWriter
from tests.fixtures.images import make_jpeg
from tests.integration.api.conftest import Library, client_for, open_store
from tests.integration.conftest import HOST, make_pipeline

TODAY = date(2026, 2, 10)  # "last summer" is June-September 2025 in the north
# name → (lat, lon, EXIF time)
PHOTOS: dict[str, tuple[float | None, float | None, str]] = {
    "lisbon_summer": (38.7223, -9.1393, "2025:07:14 18:00:00"),
    "lisbon_winter": (38.7100, -9.1400, "2025:01:20 11:00:00"),
    "lisbon_dst": (38.7223, -9.1393, "2024:03:31 12:00:00"),
    "paris_1": (48.8566, 2.3522, "2023:05:01 10:00:00"),
    "paris_2": (48.8606, 2.3376, "2023:05:02 10:00:00"),
    "paris_3": (48.8530, 2.3499, "2023:05:03 10:00:00"),
    "paris_tx": (33.6609, -95.5555, "2022:04:01 10:00:00"),
    "kyoto": (35.0116, 135.7681, "2019:11:20 19:00:00"),
    "sydney": (-33.8688, 151.2093, "2025:01:05 09:00:00"),
    "apia": (-13.8333, -171.7667, "2024:01:10 12:00:00"),
    "honolulu": (21.3069, -157.8583, "2024:01:10 12:00:00"),
    "no_gps": (None, None, "2025:07:15 12:00:00"),
}
Client = TestClient[Any]


def _write(root: Path) -> None:
    root.mkdir(parents=True)
    for seed, (name, (lat, lon, taken)) in enumerate(PHOTOS.items()):
        gps = (lat, lon, None) if lat is not None and lon is not None else None
        make_jpeg(root / f"{name}.jpg", (160, 120), seed=seed + 40, taken_at=taken, gps=gps)


async def _index(
    store: VectorStore, decoder: DecodePool, models: ModelWorker, root: Path, work: Path, geo: Any
) -> None:
    pipeline = make_pipeline(store, decoder, models, work, geo=geo)
    await pipeline.run(list(iter_files([canonical_root(str(root))], DiscoveryRules())))


def _library(store: VectorStore, base: Path, root: Path) -> Library:
    (base / "data").mkdir(parents=True, exist_ok=True)
    (base / "data" / "host-id").write_text(HOST + "\n", encoding="ascii")
    points = list(store.scroll())
    return Library(
        root=Path(canonical_root(str(root))),
        store=store,
        ids={Path(p.payload.path).stem: p.id for p in points},
        paths={Path(p.payload.path).stem: p.payload.path for p in points},
        cache_dir=base / "cache",
        data_dir=base / "data",
    )


@pytest.fixture(scope="module")
def geo() -> GeoLookup:
    return GeoLookup()


@pytest.fixture(scope="module", params=["edge", "server"])
def places_library(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    decoder: DecodePool,
    api_models: ModelWorker,
    geo: GeoLookup,
) -> Iterator[Library]:
    base = tmp_path_factory.mktemp(f"places-{request.param}")
    _write(base / "lib")
    store = open_store(request.param, base)
    anyio.run(_index, store, decoder, api_models, base / "lib", base, geo)
    yield _library(store, base, base / "lib")
    store.close()


@pytest.fixture(scope="module")
def client(places_library: Library, api_models: ModelWorker) -> Iterator[Client]:
    with client_for(places_library, api_models, today=lambda: TODAY) as test_client:
        yield test_client


def _payload(lib: Library, name: str) -> dict[str, object]:
    return payload_to_dict(lib.store.retrieve([lib.ids[name]])[0].payload)


def _search(client: Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search/text", params={"q": q, "limit": 50, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _names(page: dict[str, Any]) -> set[str]:
    return {Path(h["photo"]["path"]).stem for h in page["hits"]}


def test_payload_has_place_and_local_time(places_library: Library) -> None:
    lisbon = _payload(places_library, "lisbon_summer")
    assert {k: lisbon[k] for k in lisbon if k.startswith("place_")} == {
        "place_city": "Lisbon",
        "place_region": "Lisbon",
        "place_country": "Portugal",
        "place_country_code": "PT",
    }
    assert (lisbon["taken_at"], lisbon["taken_at_source"], lisbon["taken_at_zone"]) == (
        "2025-07-14T18:00:00+01:00",
        "exif+gps",
        "Europe/Lisbon",
    )
    # The filter key is the local wall clock; the UTC instant is an hour earlier.
    assert lisbon["taken_at_ts"] - lisbon["taken_at_utc_ts"] == 3600
    plain = _payload(places_library, "no_gps")
    assert (plain["taken_at"], plain["taken_at_source"]) == ("2025-07-15T12:00:00", "exif")
    assert not any(k.startswith("place_") or k == "taken_at_zone" for k in plain)


def test_local_time_across_the_date_line_and_dst(places_library: Library) -> None:
    apia, honolulu = _payload(places_library, "apia"), _payload(places_library, "honolulu")
    assert apia["taken_at"] == "2024-01-10T12:00:00+13:00" and honolulu["taken_at"] == "2024-01-10T12:00:00-10:00"
    assert honolulu["taken_at_utc_ts"] - apia["taken_at_utc_ts"] == 23 * 3600
    assert _payload(places_library, "lisbon_dst")["taken_at"] == "2024-03-31T12:00:00+01:00"


def test_a_date_filter_means_the_local_day(client: Client) -> None:
    """Both were taken on 10 January where they were, though 23 hours apart: a day filter finds both."""
    page = _search(client, "a photo", taken_from="2024-01-10", taken_to="2024-01-10")
    assert _names(page) == {"apia", "honolulu"}


def test_places_lists_countries_and_cities_with_counts(client: Client) -> None:
    response = client.get("/api/v1/places")
    assert response.status_code == 200, response.text
    body = response.json()
    counts = {
        c["country_code"]: (c["photos"], {p["city"]: p["photos"] for p in c["cities"]}) for c in body["countries"]
    }
    assert counts == {
        "PT": (3, {"Lisbon": 3}),
        "FR": (3, {"Paris": 3}),
        "US": (2, {"Paris": 1, "Honolulu": 1}),
        "JP": (1, {"Kyoto": 1}),
        "AU": (1, {"Sydney": 1}),
        "WS": (1, {"Apia": 1}),
    }
    assert [c["country_code"] for c in body["countries"]][:2] == ["FR", "PT"]  # most photos first, then by name
    assert (body["photos_with_place"], body["photos_with_gps"], body["complete"]) == (11, 11, True)


def test_photo_info_names_the_place_and_zone(client: Client, places_library: Library) -> None:
    info = client.get(f"/api/v1/photos/{places_library.ids['paris_tx']}").json()
    assert info["place"] == {"city": "Paris", "region": "Texas", "country": "United States", "country_code": "US"}
    assert (info["taken_at"], info["taken_at_source"], info["taken_at_zone"]) == (
        "2022-04-01T10:00:00-05:00",
        "exif+gps",
        "America/Chicago",
    )


def test_beach_in_lisbon_last_summer(client: Client) -> None:
    page = _search(client, "beach in Lisbon last summer")
    assert page["interpreted"] == {
        "text": "beach",
        "place": "Lisbon, PT",
        "region": "Lisbon",
        "country": "Portugal",
        "country_code": "PT",
        "taken": ["2025-06-21", "2025-09-22"],
        "hemisphere": "north",
        "ambiguous": False,
        "alternatives": [],
    }
    assert _names(page) == {"lisbon_summer"} and page["total"] == 1


def test_dates_alone(client: Client) -> None:
    assert _names(_search(client, "May 2023")) == {"paris_1", "paris_2", "paris_3"}
    assert _names(_search(client, "2019")) == {"kyoto"}
    assert _names(_search(client, "Sydney last summer")) == {"sydney"}  # its summer: December-March


def test_paris_resolves_to_the_one_with_more_photos(client: Client) -> None:
    page = _search(client, "Paris")
    assert page["interpreted"]["place"] == "Paris, FR" and page["interpreted"]["ambiguous"] is True
    assert page["interpreted"]["alternatives"] == [
        {"place": "Paris, US", "region": "Texas", "country": "United States", "photos": 1}
    ]
    assert _names(page) == {"paris_1", "paris_2", "paris_3"}
    assert _names(_search(client, "Paris, Texas")) == {"paris_tx"}


def test_a_query_without_place_or_date_is_unchanged(client: Client) -> None:
    plain = _search(client, "a red kite over the sea")
    assert plain["interpreted"] is None
    assert _search(client, "a red kite over the sea", interpret="false") == plain
    assert len(plain["hits"]) == len(PHOTOS)


def test_interpret_false_reads_nothing(client: Client) -> None:
    page = _search(client, "beach in Lisbon last summer", interpret="false")
    assert page["interpreted"] is None and len(page["hits"]) == len(PHOTOS)


def test_backfill_fills_photos_indexed_before_places(
    tmp_path: Path, decoder: DecodePool, api_models: ModelWorker, geo: GeoLookup
) -> None:
    _write(tmp_path / "lib")
    store = open_store("edge", tmp_path)
    try:
        anyio.run(_index, store, decoder, api_models, tmp_path / "lib", tmp_path, None)
        lib = _library(store, tmp_path, tmp_path / "lib")
        assert "place_city" not in _payload(lib, "kyoto")
        writer = IndexWriter(store, IndexState("test-host"))
        filled = anyio.run(backfill_places, writer, geo)
        assert filled == len(PHOTOS) - 1
        kyoto = _payload(lib, "kyoto")
        assert (kyoto["place_city"], kyoto["taken_at"], kyoto["taken_at_source"]) == (
            "Kyoto",
            "2019-11-20T19:00:00+09:00",
            "exif+gps",
        )
        assert anyio.run(backfill_places, writer, geo) == 0  # nothing left: one empty scroll
    finally:
        store.close()
