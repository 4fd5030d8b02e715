"""Geo radius as a box plus an exact check; filters translated to the store's PhotoFilter."""

from __future__ import annotations

import pytest

from photoindex.indexer.store import GeoBox, GeoPoint
from photoindex.library.filters import GeoCircle, SearchFilters, distance_km


def test_distance_paris_london() -> None:
    assert distance_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)


def test_circle_box_holds_the_circle() -> None:
    circle = GeoCircle(48.8566, 2.3522, 100.0)
    box = circle.box()
    assert box.min_lat < 48.0 < 49.7 < box.max_lat
    assert box.min_lon < 1.0 and box.max_lon > 3.7
    assert circle.contains(GeoPoint(lat=49.0, lon=2.5))
    assert not circle.contains(GeoPoint(lat=51.5074, lon=-0.1278))
    assert not circle.contains(None)


def test_circle_across_the_antimeridian_and_pole() -> None:
    box = GeoCircle(0.0, 179.9, 50.0).box()
    assert box.min_lon > box.max_lon  # crosses ±180: the store splits it
    assert GeoCircle(89.9, 0.0, 50.0).box() == GeoBox(
        min_lat=pytest.approx(89.45, abs=0.01), max_lat=90.0, min_lon=-180.0, max_lon=180.0
    )


def test_store_filter_translation() -> None:
    flt = SearchFilters(folder="/a/b/", formats=("JPEG",), near=GeoCircle(1.0, 2.0, 10.0)).store_filter()
    assert flt.path_prefix == "/a/b" and flt.formats == ("JPEG",) and flt.statuses == ("indexed",)
    assert flt.has_gps is True and flt.geo_box is not None
    assert not SearchFilters(near=GeoCircle(1.0, 2.0, 10.0)).exact_in_store
    assert SearchFilters(has_gps=False).store_filter().has_gps is False
