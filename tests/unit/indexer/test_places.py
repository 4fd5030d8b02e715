"""The real geocoder and time-zone data: known cities, and local times across the date line and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from photoindex.indexer.decoding.geocoder import Geocoder
from photoindex.indexer.decoding.local_time import TimeZones, localized_fields
from photoindex.indexer.decoding.places import GeoLookup

# (lat, lon) of a city centre → (city, country code)
CITIES = {
    (38.7223, -9.1393): ("Lisbon", "PT"),
    (48.8566, 2.3522): ("Paris", "FR"),
    (33.6609, -95.5555): ("Paris", "US"),  # Texas
    (40.7128, -74.0060): ("New York City", "US"),
    (35.0116, 135.7681): ("Kyoto", "JP"),
    (35.6762, 139.6503): ("Tokyo", "JP"),
    (51.5074, -0.1278): ("London", "GB"),
    (-33.8688, 151.2093): ("Sydney", "AU"),
    (52.5200, 13.4050): ("Berlin", "DE"),
    (41.9028, 12.4964): ("Rome", "IT"),
    (40.4168, -3.7038): ("Madrid", "ES"),
    (30.0444, 31.2357): ("Cairo", "EG"),
    (-22.9068, -43.1729): ("Rio de Janeiro", "BR"),
    (-34.6037, -58.3816): ("Buenos Aires", "AR"),
    (-33.9249, 18.4241): ("Cape Town", "ZA"),
    (21.3069, -157.8583): ("Honolulu", "US"),
    (-13.8333, -171.7667): ("Apia", "WS"),
    (-18.1248, 178.4501): ("Suva", "FJ"),
    (19.0760, 72.8777): ("Mumbai", "IN"),
    (43.6532, -79.3832): ("Toronto", "CA"),
    (37.7749, -122.4194): ("San Francisco", "US"),
    (64.1466, -21.9426): ("Reykjavík", "IS"),
    (40.7357, -74.1724): ("Newark", "US"),  # its own city, not New York's (another state)
}


@pytest.fixture(scope="module")
def geo() -> GeoLookup:
    lookup = GeoLookup()
    lookup.load()
    return lookup


def test_known_cities(geo: GeoLookup) -> None:
    found = {}
    for (lat, lon), _expected in CITIES.items():
        place = geo.geocoder.lookup(lat, lon)
        assert place is not None
        found[(lat, lon)] = (place.city, place.country_code)
    assert found == CITIES


def test_place_fields_name_region_and_country(geo: GeoLookup) -> None:
    place = geo.geocoder.lookup(33.6609, -95.5555)
    assert place is not None
    assert place.fields() == {
        "place_city": "Paris",
        "place_region": "Texas",
        "place_country": "United States",
        "place_country_code": "US",
    }


def test_impossible_coordinates_have_no_place() -> None:
    geocoder = Geocoder()
    assert geocoder.lookup(91.0, 0.0) is None and geocoder.lookup(0.0, float("nan")) is None
    assert not geocoder.loaded  # an impossible coordinate does not load the data


def test_samoa_and_hawaii_are_a_day_apart(geo: GeoLookup) -> None:
    """Apia (UTC+13) and Honolulu (UTC-10) share a wall clock reading but not a day: 23 hours apart."""
    wall = "2024-01-10T12:00:00"
    apia = localized_fields(wall, geo.zones.zone_at(-13.8333, -171.7667) or "")
    honolulu = localized_fields(wall, geo.zones.zone_at(21.3069, -157.8583) or "")
    assert apia is not None and honolulu is not None
    assert (apia["taken_at_zone"], apia["taken_at"]) == ("Pacific/Apia", "2024-01-10T12:00:00+13:00")
    assert (honolulu["taken_at_zone"], honolulu["taken_at"]) == ("Pacific/Honolulu", "2024-01-10T12:00:00-10:00")
    assert honolulu["taken_at_utc_ts"] - apia["taken_at_utc_ts"] == 23 * 3600
    assert datetime.fromtimestamp(apia["taken_at_utc_ts"], UTC).isoformat() == "2024-01-09T23:00:00+00:00"


def test_fiji_is_east_of_the_date_line_and_kiribati_line_islands_lead_the_world(geo: GeoLookup) -> None:
    assert geo.zones.zone_at(-18.1248, 178.4501) == "Pacific/Fiji"
    kiritimati = localized_fields("2024-06-01T08:00:00", geo.zones.zone_at(1.87, -157.4) or "")
    assert kiritimati is not None and kiritimati["taken_at"] == "2024-06-01T08:00:00+14:00"


def test_lisbon_summer_time_begins_on_the_last_sunday_of_march(geo: GeoLookup) -> None:
    zone = geo.zones.zone_at(38.7223, -9.1393)
    assert zone == "Europe/Lisbon"
    before = localized_fields("2024-03-31T00:30:00", zone)
    after = localized_fields("2024-03-31T12:00:00", zone)
    day_before = localized_fields("2024-03-30T12:00:00", zone)
    assert before is not None and after is not None and day_before is not None
    assert before["taken_at"] == "2024-03-31T00:30:00+00:00"
    assert after["taken_at"] == "2024-03-31T12:00:00+01:00"
    # Noon to noon across the change is 23 hours of real time.
    assert after["taken_at_utc_ts"] - day_before["taken_at_utc_ts"] == 23 * 3600


def test_a_time_with_its_own_offset_is_kept(geo: GeoLookup) -> None:
    taken = {"taken_at": "2024-03-31T12:00:00+05:00", "taken_at_source": "exif"}
    assert geo.zoned(38.7223, -9.1393, taken) == {}
    assert geo.zoned(38.7223, -9.1393, {"taken_at": "2024-03-31T12:00:00+01:00", "taken_at_source": "mtime"}) == {}


def test_exif_time_gains_the_zone_and_says_so(geo: GeoLookup) -> None:
    fields = geo.fields(38.7223, -9.1393, {"taken_at": "2024-07-01T10:00:00", "taken_at_source": "exif"})
    assert fields["place_city"] == "Lisbon"
    assert fields["taken_at"] == "2024-07-01T10:00:00+01:00"
    assert fields["taken_at_source"] == "exif+gps"
    assert fields["taken_at_zone"] == "Europe/Lisbon"


def test_time_zones_load_lazily() -> None:
    zones = TimeZones()
    assert not zones.loaded
    assert zones.zone_at(95.0, 0.0) is None and not zones.loaded


def test_a_released_geocoder_reads_its_data_again_at_the_next_lookup() -> None:
    geocoder = Geocoder()
    geocoder.load()
    geocoder.release()  # what an idle daemon does
    assert not geocoder.loaded
    place = geocoder.lookup(38.7223, -9.1393)
    assert place is not None and (place.city, place.country_code) == ("Lisbon", "PT")
    assert geocoder.loaded
