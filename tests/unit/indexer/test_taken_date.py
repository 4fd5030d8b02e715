"""Taken dates from file names and mtimes: the patterns phones, screenshot tools and messengers write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from photoindex.indexer.decoding.taken_date import date_from_mtime, date_from_name, taken_fields

NOW = datetime(2026, 1, 1, 12, 0, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_20230514_153012.jpg", "2023-05-14T15:30:12"),
        ("PXL_20230514_153012345.jpg", "2023-05-14T15:30:12"),
        ("PXL_20230514_153012345.MP.jpg", "2023-05-14T15:30:12"),
        ("Screenshot 2023-05-14 at 15.30.12.png", "2023-05-14T15:30:12"),
        ("Screen Shot 2019-05-14 at 3.30.12 PM.png", "2019-05-14T15:30:12"),
        ("Screen Shot 2019-05-14 at 12.05.00 AM.png", "2019-05-14T00:05:00"),
        ("Screenshot_20230514-153012.png", "2023-05-14T15:30:12"),
        ("Screenshot_2023-05-14-15-30-12-123_com.example.app.jpg", "2023-05-14T15:30:12"),
        ("Screenshot 2023-05-14 153012.png", "2023-05-14T15:30:12"),
        ("20230514_153012.jpg", "2023-05-14T15:30:12"),
        ("VID_20230514_153012.mp4.jpg", "2023-05-14T15:30:12"),
        ("signal-2023-05-14-15-30-12-123.jpg", "2023-05-14T15:30:12"),
        ("signal-2023-05-14-153012.jpeg", "2023-05-14T15:30:12"),
        ("IMG-20230514-WA0001.jpg", "2023-05-14"),
        ("2023-05-14.png", "2023-05-14"),
        ("scan 1999.12.31.tif", "1999-12-31"),
        ("/photos/2001-01-01/IMG-20230514-WA0001.jpg", "2023-05-14"),  # the name's, not the folder's
        ("IMG_20230514_256012.jpg", "2023-05-14"),  # hour 25: the day still stands
    ],
)
def test_dates_in_names(name: str, expected: str) -> None:
    assert date_from_name(name, now=NOW) == expected


@pytest.mark.parametrize(
    "name",
    [
        "holiday.jpg",
        "DSC01234.JPG",
        "IMG_20231314_153012.jpg",  # month 13
        "IMG_20230231_101010.jpg",  # 31 February
        "IMG-20230500-WA0001.jpg",  # day 0
        "IMG_18990514_153012.jpg",  # before digital cameras
        "IMG_20290514_153012.jpg",  # years ahead of the clock
        "1684071012345.jpg",  # a millisecond timestamp, not a date
        "photo_120230514.jpg",  # nine digits: part of a larger number
    ],
)
def test_names_without_a_valid_date(name: str) -> None:
    assert date_from_name(name, now=NOW) is None


def test_mtime_is_an_instant_in_the_local_zone() -> None:
    mtime = datetime(2022, 8, 9, 10, 11, 12, tzinfo=UTC)
    text = date_from_mtime(int(mtime.timestamp() * 1e9), now=NOW)
    assert text is not None
    assert datetime.fromisoformat(text) == mtime  # offset written out: the same moment in any zone
    assert date_from_mtime(0, now=NOW) is None  # 1970: a reset clock
    assert date_from_mtime(int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1e9), now=NOW) is None


def test_exif_then_name_then_mtime() -> None:
    mtime_ns = int(datetime(2022, 8, 9, 10, 11, 12, tzinfo=UTC).timestamp() * 1e9)
    exif = taken_fields("2021-06-01T10:00:00", "/p/IMG_20230514_153012.jpg", mtime_ns)
    assert (exif["taken_at"], exif["taken_at_source"]) == ("2021-06-01T10:00:00", "exif")
    named = taken_fields(None, "/p/IMG_20230514_153012.jpg", mtime_ns)
    assert (named["taken_at"], named["taken_at_source"]) == ("2023-05-14T15:30:12", "filename")
    assert named["taken_at_ts"] == datetime(2023, 5, 14, 15, 30, 12, tzinfo=UTC).timestamp()  # naive read as UTC
    modified = taken_fields(None, "/p/holiday.jpg", mtime_ns)
    assert modified["taken_at_source"] == "mtime" and modified["taken_at_ts"] == mtime_ns / 1e9
    assert taken_fields(None, "/p/holiday.jpg", 0) == {}
