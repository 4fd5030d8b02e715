"""Every file of the shared real-world corpus decodes, or fails with a FileError and a fitting code.

The corpus (``shared/corpus`` beside the repository, described row by row in
MANIFEST.tsv) holds camera JPEGs, HEIC/AVIF from phones, odd PNG/TIFF/WebP
modes, camera raws, and a ``broken/`` tree of fuzzed, truncated and malicious
files. Tests skip when it is not there.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.conftest import CORPUS_DIR

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.decoding.formats import detect_format
from photoindex.indexer.records import DecodeRequest

REQUEST = DecodeRequest(model_size=224)

# Raw files LibRaw cannot decode, and why (from the MANIFEST notes).
RAW_FAILURES = {
    # Casio QV .CAM: a proprietary format LibRaw does not know; nothing identifies it as an image.
    "raw/digicam_corpus/Casio/QV-11/QV-11_01.cam": ErrorCode.DECODE,
    # GoPro GPR: DNG with VC-5 compression, which LibRaw is not built with; no embedded preview.
    "raw/gopro-gpr/HERO7/GOPR9231.GPR": ErrorCode.DECODE_RAW,
    "raw/gopro-gpr/Hero6/GOPR0024.GPR": ErrorCode.DECODE_RAW,
}

# Broken files whose failure code is certain.
BROKEN_CODES = {
    "broken/photoprism/fs/testdata/empty.jpg": ErrorCode.EMPTY_FILE,
    "broken/pillow/decompression_bomb.gif": ErrorCode.TOO_LARGE,
    "broken/sharp/65536-uint32-limit.png": ErrorCode.TOO_LARGE,
    "broken/sharp/giant-image.jpg": ErrorCode.TOO_LARGE,
    "broken/libvips/truncated.jpg": ErrorCode.TRUNCATED,
    "broken/sharp/truncated.jpg": ErrorCode.TRUNCATED,
    "broken/pillow/truncated_jpeg.jpg": ErrorCode.TRUNCATED,
    "broken/libvips/truncated.gif": ErrorCode.TRUNCATED,
    "broken/exiftool/DNG.dng": ErrorCode.DECODE_RAW,  # image data stripped: all-black demosaic
    "broken/exiv2/IMG_1361.dng": ErrorCode.DECODE_RAW,
    "broken/exiftool/Panasonic.rw2": ErrorCode.DECODE_RAW,  # stripped: LibRaw "succeeds" with garbage
    "broken/exiftool/Nikon.nef": ErrorCode.DECODE_RAW,  # must not fall back to Pillow's IFD0 thumbnail
    "broken/exiftool/CanonRaw.cr2": ErrorCode.DECODE_RAW,
}


def _manifest() -> list[dict[str, str]]:
    manifest = CORPUS_DIR / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _manifest()
PHOTOS = [r for r in ROWS if r["kind"] == "photo"]
RAWS = [r for r in ROWS if r["kind"] == "raw"]
BROKEN = [r for r in ROWS if r["kind"] == "broken"]
RENAMED_JPEGS = [r for r in ROWS if "content is JPEG but extension" in r["notes"]]


def _ids(rows: list[dict[str, str]]) -> list[str]:
    return [r["path"] for r in rows]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("row", PHOTOS, ids=_ids(PHOTOS))
def test_photo_decodes(corpus_dir: Path, row: dict[str, str]) -> None:
    result = decode_photo(str(corpus_dir / row["path"]), REQUEST)
    assert result.pixels.shape == (224, 224, 3)
    meta = result.metadata
    assert meta.format == row["format"]
    # The MANIFEST records stored sizes; metadata reports the photo as displayed.
    expected = (int(row["width"]), int(row["height"]))
    if meta.orientation in (5, 6, 7, 8):
        expected = expected[::-1]
    assert (meta.width, meta.height) == expected


@pytest.mark.timeout(60)
@pytest.mark.parametrize("row", RAWS, ids=_ids(RAWS))
def test_raw_decodes_where_libraw_can(corpus_dir: Path, row: dict[str, str]) -> None:
    path = str(corpus_dir / row["path"])
    expected_failure = RAW_FAILURES.get(row["path"])
    if expected_failure is not None:
        with pytest.raises(FileError) as caught:
            decode_photo(path, REQUEST)
        assert caught.value.code is expected_failure
        return
    result = decode_photo(path, REQUEST)
    assert result.source in ("raw-preview", "raw-demosaic")
    assert (result.metadata.width, result.metadata.height) == (int(row["width"]), int(row["height"]))
    assert result.pixels.std() > 5


@pytest.mark.timeout(30)
@pytest.mark.parametrize("row", BROKEN, ids=_ids(BROKEN))
def test_broken_file_decodes_or_fails_cleanly(corpus_dir: Path, row: dict[str, str]) -> None:
    expected = BROKEN_CODES.get(row["path"])
    try:
        result = decode_photo(str(corpus_dir / row["path"]), REQUEST)
    except FileError as exc:
        assert expected is None or exc.code is expected
        return
    assert expected is None, f"decoded, expected {expected}"
    assert result.pixels.shape == (224, 224, 3)


def test_thumbnail_from_a_corpus_photo(corpus_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    thumb = tmp_path / "t.jpg"
    request = DecodeRequest(model_size=224, thumbnail_path=str(thumb))
    result = decode_photo(str(corpus_dir / "photos/libvips/rotation/6.jpg"), request)
    with Image.open(thumb) as written:
        assert written.size == (150, 200)  # stored 308×231, orientation 6: displayed upright
    assert (result.metadata.width, result.metadata.height) == (231, 308)


@pytest.mark.parametrize("row", RENAMED_JPEGS, ids=_ids(RENAMED_JPEGS))
def test_format_is_detected_by_content_not_name(corpus_dir: Path, row: dict[str, str]) -> None:
    assert detect_format(corpus_dir / row["path"]) == "JPEG"


def test_detected_formats_match_the_manifest(corpus_dir: Path) -> None:
    simple = {"JPEG", "PNG", "GIF", "WEBP", "TIFF", "HEIF", "AVIF"}
    for row in PHOTOS:
        expected = "JPEG" if row["format"] == "MPO" else row["format"]
        if expected in simple:
            assert detect_format(corpus_dir / row["path"]) == expected, row["path"]
    raw_formats = {"DNG (raw)": "DNG", "CRW (raw)": "CRW", "GPR (raw)": "GPR"}
    for row in RAWS:
        kind = row["format"].split(";")[0]
        if kind in raw_formats or kind.startswith("KDC"):
            assert detect_format(corpus_dir / row["path"]) == raw_formats.get(kind, "KDC"), row["path"]
