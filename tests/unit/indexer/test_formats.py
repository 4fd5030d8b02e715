"""Formats are told by content: magic numbers, ISO-BMFF brands, TIFF IFD0 (DNGVersion, Make)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from tests.fixtures.images import make_dng_with_preview, make_jpeg, make_png

from photoindex.indexer.decoding.formats import (
    IMAGE_EXTENSIONS,
    detect_format,
    detect_format_bytes,
    is_raw,
    sniff_is_image,
)


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 16


def tiff_with_make(make: str, *, dng: bool = False) -> bytes:
    """A little-endian TIFF header whose IFD0 holds Make (and DNGVersion when asked)."""
    value = make.encode() + b"\x00"
    entries = [struct.pack("<HHII", 0x010F, 2, len(value), 0)]  # offset patched below
    if dng:
        entries.append(struct.pack("<HHI4s", 0xC612, 1, 4, b"\x01\x04\x00\x00"))
    ifd_size = 2 + 12 * len(entries) + 4
    value_at = 8 + ifd_size
    entries[0] = struct.pack("<HHII", 0x010F, 2, len(value), value_at)
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)) + b"".join(entries) + b"\x00" * 4 + value


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe1" + b"\x00" * 60, "JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 56, "PNG"),
        (b"GIF89a" + b"\x00" * 58, "GIF"),
        (b"BM" + b"\x00" * 12 + struct.pack("<I", 40) + b"\x00" * 46, "BMP"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 48, "WEBP"),
        (ftyp(b"heic", b"mif1", b"heic"), "HEIF"),
        (ftyp(b"mif1", b"mif1", b"heic"), "HEIF"),
        (ftyp(b"avif", b"avif", b"mif1"), "AVIF"),
        (ftyp(b"mif1", b"mif1", b"avif"), "AVIF"),
        (ftyp(b"crx ", b"crx ", b"isom"), "CR3"),
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 52, "CR2"),
        (b"II\x1a\x00\x00\x00HEAPCCDR" + b"\x00" * 50, "CRW"),
        (b"FUJIFILMCCD-RAW 0201" + b"\x00" * 44, "RAF"),
        (b"IIRO\x08\x00\x00\x00" + b"\x00" * 56, "ORF"),
        (b"MMOR\x00\x00\x00\x08" + b"\x00" * 56, "ORF"),
        (b"IIU\x00\x08\x00\x00\x00" + b"\x00" * 56, "RW2"),
        (b"FOVb" + b"\x00" * 60, "X3F"),
        (b"\x00MRM" + b"\x00" * 60, "MRW"),
    ],
)
def test_magic_numbers(head: bytes, expected: str) -> None:
    assert detect_format_bytes(head) == expected
    assert sniff_is_image(head[:64])


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"hello world, this is text",
        b"BM but not really a bitmap" + b"\x00" * 40,
        ftyp(b"isom", b"mp41"),
        b"%PDF-1.7\n" + b"\x00" * 50,
    ],
)
def test_non_images(head: bytes) -> None:
    assert detect_format_bytes(head) is None
    assert not sniff_is_image(head)


def test_content_wins_over_extension(tmp_path: Path) -> None:
    jpeg_named_png = make_jpeg(tmp_path / "photo.png", (64, 48))
    png_named_jpg = make_png(tmp_path / "photo.jpg", (64, 48))
    jpeg_named_heic = make_jpeg(tmp_path / "wrong.heic", (64, 48))
    jpeg_named_nef = make_jpeg(tmp_path / "export.nef", (64, 48), make="NIKON CORPORATION")
    assert detect_format(jpeg_named_png) == "JPEG"
    assert detect_format(png_named_jpg) == "PNG"
    assert detect_format(jpeg_named_heic) == "JPEG"
    assert detect_format(jpeg_named_nef) == "JPEG"


def test_dng_is_known_by_its_tag_whatever_its_name(tmp_path: Path) -> None:
    dng = make_dng_with_preview(tmp_path / "IMG_0001.tif", (300, 200), (300, 200))
    assert detect_format(dng) == "DNG"
    assert detect_format_bytes(tiff_with_make("GoPro", dng=True), "GOPR0001.GPR") == "GPR"


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        ("NIKON CORPORATION", "DSC_0001.NEF", "NEF"),
        ("SONY", "DSC00001.ARW", "ARW"),
        ("PENTAX Corporation", "IMGP0001.PEF", "PEF"),
        ("SAMSUNG", "SAM_0001.SRW", "SRW"),
        ("Eastman Kodak Company", "DC0001.KDC", "KDC"),
        ("Phase One", "CF000001.IIQ", "IIQ"),
        ("NIKON CORPORATION", "DSC_0001.tif", "TIFF"),  # a camera TIFF is a TIFF
        ("Plustek OpticFilm", "scan.nef", "TIFF"),  # no camera maker: a TIFF despite the name
        ("SONY", "", "TIFF"),  # no name to go by
    ],
)
def test_tiff_container_raws_need_camera_make_and_raw_extension(make: str, name: str, expected: str) -> None:
    assert detect_format_bytes(tiff_with_make(make), name) == expected


def test_broken_ifd_is_still_a_tiff() -> None:
    head = b"II*\x00" + struct.pack("<I", 0xFFFFFF00) + b"\x00" * 56
    assert detect_format_bytes(head, "x.nef") == "TIFF"


def test_extension_list_and_raw_predicate() -> None:
    for ext in (".jpg", ".jpeg", ".png", ".heic", ".avif", ".webp", ".tif", ".nef", ".cr3", ".dng", ".raf", ".gpr"):
        assert ext in IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)
    assert is_raw("DNG") and is_raw("CR3") and is_raw("RAW")
    assert not is_raw("JPEG") and not is_raw("TIFF") and not is_raw(None)
