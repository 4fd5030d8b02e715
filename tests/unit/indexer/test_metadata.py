"""EXIF becomes PhotoMetadata; malformed values become missing fields, never exceptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, TiffImagePlugin
from tests.fixtures.images import make_dng_with_preview, make_jpeg, make_png

from photoindex.indexer.decoding.metadata import exif_from_tiff, photo_metadata, read_exif
from photoindex.indexer.records import PhotoMetadata

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def metadata_of(path: Path) -> PhotoMetadata:
    with Image.open(path) as image:
        return photo_metadata(image.format or "?", image.size, [read_exif(image)])


def exif_with(
    ifd0: dict[int, Any] | None = None, exif: dict[int, Any] | None = None, gps: dict[int, Any] | None = None
) -> Image.Exif:
    data = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        data[tag] = value
    if exif:
        data[EXIF_IFD] = exif
    if gps:
        data[GPS_IFD] = gps
    # Nested IFDs set in memory are only readable once serialised, as in a real file.
    parsed = Image.Exif()
    parsed.load(data.tobytes())
    return parsed


def test_camera_fields_from_a_real_jpeg(tmp_path: Path) -> None:
    path = make_jpeg(
        tmp_path / "a.jpg",
        (320, 240),
        make="Canon",
        model="Canon EOS R5",
        taken_at="2023:07:14 18:05:09",
        offset="+02:00",
        exif={0x829A: 1 / 250, 0x829D: 2.8, 0x8827: 400, 0x920A: 35.0, 0xA434: "RF35mm F1.8 MACRO IS STM"},
        gps=(48.8583, -2.2945, 35.5),
    )
    meta = metadata_of(path)
    assert meta.format == "JPEG"
    assert (meta.width, meta.height) == (320, 240)
    assert meta.camera_make == "Canon"
    assert meta.camera_model == "Canon EOS R5"
    assert meta.taken_at == "2023-07-14T18:05:09+02:00"
    assert meta.exposure_time == pytest.approx(0.004)
    assert meta.f_number == pytest.approx(2.8)
    assert meta.iso == 400
    assert meta.focal_length == pytest.approx(35.0)
    assert meta.lens == "RF35mm F1.8 MACRO IS STM"
    assert meta.gps_lat == pytest.approx(48.8583, abs=1e-4)
    assert meta.gps_lon == pytest.approx(-2.2945, abs=1e-4)  # W is negative
    assert meta.gps_alt == pytest.approx(35.5)


def test_southern_hemisphere_and_below_sea_level(tmp_path: Path) -> None:
    meta = metadata_of(make_jpeg(tmp_path / "a.jpg", (64, 48), gps=(-33.8568, 151.2153, -12.0)))
    assert meta.gps_lat == pytest.approx(-33.8568, abs=1e-4)
    assert meta.gps_lon == pytest.approx(151.2153, abs=1e-4)
    assert meta.gps_alt == pytest.approx(-12.0)


def test_gps_without_coordinates_or_out_of_range_is_missing() -> None:
    no_coordinates = exif_with(gps={0: b"\x02\x03\x00\x00", 5: 0, 6: 100.0})
    out_of_range = exif_with(gps={1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)})
    only_latitude = exif_with(gps={1: "N", 2: (45.0, 0.0, 0.0)})
    null_island = exif_with(gps={1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)})
    for exif in (no_coordinates, out_of_range, only_latitude, null_island):
        meta = photo_metadata("JPEG", (10, 10), [exif])
        assert (meta.gps_lat, meta.gps_lon, meta.gps_alt) == (None, None, None)


def test_zero_and_garbage_dates_are_missing_but_fall_back(tmp_path: Path) -> None:
    zero = make_jpeg(tmp_path / "zero.jpg", (64, 48), taken_at="0000:00:00 00:00:00")
    assert metadata_of(zero).taken_at is None
    garbage = exif_with(exif={0x9003: "2023:13:45 99:00:00", 0x9004: "\x01\x02garbage"})
    assert photo_metadata("JPEG", (1, 1), [garbage]).taken_at is None
    # DateTimeOriginal unusable → DateTimeDigitized, then IFD0 DateTime.
    digitized = exif_with(exif={0x9003: "0000:00:00 00:00:00", 0x9004: "2020:01:02 03:04:05", 0x9012: "-05:00"})
    assert photo_metadata("JPEG", (1, 1), [digitized]).taken_at == "2020-01-02T03:04:05-05:00"
    ifd0_only = exif_with(ifd0={0x0132: "2019:12:31 23:59:59\x00\x00"})
    assert photo_metadata("JPEG", (1, 1), [ifd0_only]).taken_at == "2019-12-31T23:59:59"


def test_offset_falls_back_to_offset_time_and_rejects_nonsense() -> None:
    plain = exif_with(exif={0x9003: "2021:06:01 12:00:00", 0x9010: "+09:30"})
    assert photo_metadata("JPEG", (1, 1), [plain]).taken_at == "2021-06-01T12:00:00+09:30"
    bad = exif_with(exif={0x9003: "2021:06:01 12:00:00", 0x9011: "+99:99"})
    assert photo_metadata("JPEG", (1, 1), [bad]).taken_at == "2021-06-01T12:00:00"


def test_control_bytes_and_nul_padding_are_stripped(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", (64, 48), make="  NIKON\x07 CORPORATION \x00\x00junk", model="\x1bD850\x7f  ")
    meta = metadata_of(path)
    assert meta.camera_make == "NIKON CORPORATION"
    assert meta.camera_model == "D850"
    empty = photo_metadata("JPEG", (1, 1), [exif_with(ifd0={0x010F: "\x00\x00\x00", 0x0110: "\x01\x02"})])
    assert empty.camera_make is None and empty.camera_model is None


def test_broken_rationals_and_wrong_types_are_missing() -> None:
    exif = exif_with(
        ifd0={0x0112: 9},
        exif={
            0x829A: TiffImagePlugin.IFDRational(1, 0),  # exposure n/0
            0x829D: "f/2.8",
            0x8827: (0,),
            0x920A: -5.0,
            0xA434: "\x00",
        },
    )
    meta = photo_metadata("JPEG", (40, 30), [exif])
    assert meta == PhotoMetadata(format="JPEG", width=40, height=30)


def test_apex_values_stand_in_for_missing_exposure_and_aperture() -> None:
    exif = exif_with(exif={0x9201: 8.0, 0x9202: 4.0})  # 1/256 s, f/4
    meta = photo_metadata("JPEG", (1, 1), [exif])
    assert meta.exposure_time == pytest.approx(1 / 256)
    assert meta.f_number == pytest.approx(4.0)


def test_lens_from_make_and_specification_when_no_model() -> None:
    exif = exif_with(exif={0xA433: "Sigma", 0xA432: (18.0, 35.0, 1.8, 1.8)})
    assert photo_metadata("JPEG", (1, 1), [exif]).lens == "Sigma 18-35mm f/1.8"


def test_orientation_reports_displayed_size(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", (64, 48), orientation=6)
    meta = metadata_of(path)
    assert meta.orientation == 6
    assert (meta.width, meta.height) == (48, 64)
    upright = metadata_of(make_jpeg(tmp_path / "b.jpg", (64, 48), orientation=3))
    assert (upright.width, upright.height) == (64, 48)


def test_sources_fill_each_others_gaps_in_priority_order() -> None:
    first = exif_with(ifd0={0x010F: "Canon"})
    second = exif_with(ifd0={0x010F: "Other", 0x0110: "EOS R"}, exif={0x8827: 100})
    meta = photo_metadata("CR3", (6000, 4000), [None, first, second], orientation=6)
    assert (meta.camera_make, meta.camera_model, meta.iso) == ("Canon", "EOS R", 100)
    assert meta.orientation == 6  # the fallback orientation (a raw's flip) when no source has one
    assert (meta.width, meta.height) == (4000, 6000)


def test_png_exif(tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png", (64, 48), exif={0x010F: "Apple", 0x0110: "iPhone"}, orientation=8)
    meta = metadata_of(path)
    assert (meta.camera_make, meta.orientation, meta.width, meta.height) == ("Apple", 8, 48, 64)


def test_raw_container_exif_is_read_in_place(tmp_path: Path) -> None:
    dng = make_dng_with_preview(
        tmp_path / "a.dng", (300, 200), (300, 200), make="Leica", model="Q2", taken_at="2022:02:22 22:22:22"
    )
    with dng.open("rb") as handle:
        exif = exif_from_tiff(handle)
        meta = photo_metadata("DNG", (300, 200), [exif])
    assert (meta.camera_make, meta.camera_model, meta.taken_at) == ("Leica", "Q2", "2022-02-22T22:22:22")
    with (tmp_path / "not.tif").open("wb+") as handle:
        handle.write(b"\xff\xd8\xff" + b"\x00" * 100)
        assert exif_from_tiff(handle) is None
