"""Filter specs from the wire become library filters; bad values are rejected before any work."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from photoindex.query_api.schemas.search import FilterSpec


def spec(**fields: object) -> FilterSpec:
    return msgspec.convert(fields, FilterSpec)


def test_dates_and_formats() -> None:
    filters = spec(taken_from="2023-01-01", taken_to="2023-01-31", format=["jpeg", "heif"]).to_filters()
    assert filters.taken_from_ts == datetime(2023, 1, 1, tzinfo=UTC).timestamp()
    assert filters.taken_to_ts == datetime(2023, 2, 1, tzinfo=UTC).timestamp()  # the whole last day
    assert filters.formats == ("JPEG", "HEIF")
    with_time = spec(taken_from="2023-01-01T12:00:00+02:00").to_filters()
    assert with_time.taken_from_ts == datetime(2023, 1, 1, 10, tzinfo=UTC).timestamp()


def test_every_value_the_schema_allows_has_a_meaning() -> None:
    assert spec(taken_to="9999-12-31").to_filters().taken_to_ts is not None  # no overflow at the far end
    rolled = spec(taken_from="2021-02-30").to_filters().taken_from_ts  # a day past the month end rolls over
    assert rolled == datetime(2021, 3, 2, tzinfo=UTC).timestamp()
    both = spec(
        bbox={"min_lat": 0, "min_lon": 0, "max_lat": 1, "max_lon": 1}, near={"lat": 0, "lon": 0, "radius_km": 1}
    ).to_filters()
    assert both.geo_box is not None and both.near is not None  # inside the box and within the circle
    assert both.store_filter().geo_box == both.geo_box and not both.exact_in_store
    assert spec(near={"lat": 0, "lon": 0, "radius_km": 0}).to_filters().near is not None  # that very place


@pytest.mark.parametrize(
    "fields",
    [
        {"min_width": 0},
        {"bbox": {"min_lat": 91, "min_lon": 0, "max_lat": 1, "max_lon": 1}},
        {"camera_make": ["x"] * 51},
        {"near": {"lat": 0, "lon": 0, "radius_km": 20_041}},
        {"unknown": 1},
        {"taken_from": "yesterday"},
        {"taken_from": "2021-13-01"},
        {"folder": "relative/dir"},
    ],
)
def test_schema_bounds(fields: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        spec(**fields)
