"""Decoding real files: outputs, orientation, pixel modes, draft mode, raws, and every failure code."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from tests.fixtures.images import (
    make_dng_with_preview,
    make_dng_without_preview,
    make_jpeg,
    make_png,
    photo_image,
    truncate,
)

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.decode import decode_image_bytes, decode_photo
from photoindex.indexer.decoding.phash import hamming, perceptual_hash
from photoindex.indexer.records import DecodedImage, DecodeRequest

pytestmark = pytest.mark.timeout(60)

REQUEST = DecodeRequest(model_size=224)


def decode(path: Path, request: DecodeRequest = REQUEST) -> DecodedImage:
    return decode_photo(str(path), request)


def failure(path: Path | str, request: DecodeRequest = REQUEST) -> ErrorCode:
    with pytest.raises(FileError) as caught:
        decode_photo(str(path), request)
    return caught.value.code


def centre_square(image: Image.Image, side: int) -> np.ndarray:
    """CLIP's preprocessing, done the plain two-step way (resize shortest side, then crop)."""
    width, height = image.size
    scale = side / min(width, height)
    size = (max(side, round(width * scale)), max(side, round(height * scale)))
    resized = image.resize(size, Image.Resampling.BICUBIC)
    left, top = (resized.width - side) // 2, (resized.height - side) // 2
    return np.asarray(resized.crop((left, top, left + side, top + side)))


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --- outputs ------------------------------------------------------------------------------------


def test_outputs_have_the_requested_shapes(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", (800, 600), make="Canon", model="EOS")
    thumb = tmp_path / "cache" / "t.jpg"
    request = DecodeRequest(model_size=224, caption_size=384, thumbnail_path=str(thumb))
    result = decode(path, request)
    assert result.pixels.shape == (224, 224, 3) and result.pixels.dtype == np.uint8
    assert result.caption_pixels.shape == (384, 384, 3) and result.caption_pixels.dtype == np.uint8
    assert result.pixels.flags.writeable  # torch.from_numpy warns on read-only arrays
    assert len(result.phash) == 16
    assert (result.metadata.format, result.metadata.width, result.metadata.height) == ("JPEG", 800, 600)
    assert result.metadata.camera_make == "Canon"
    with Image.open(thumb) as written:
        assert (written.format, written.mode, written.size) == ("JPEG", "RGB", (200, 150))


def test_model_pixels_are_the_centre_crop(tmp_path: Path) -> None:
    picture = photo_image((900, 500), seed=4)
    path = tmp_path / "a.png"
    picture.save(path)
    result = decode(path)
    assert result.source == "full"
    assert mean_abs_diff(result.pixels, centre_square(picture, 224)) < 2.0
    squashed = np.asarray(picture.resize((128, 128), Image.Resampling.BICUBIC))
    caption = decode(path, DecodeRequest(model_size=64, caption_size=128)).caption_pixels
    assert mean_abs_diff(caption, squashed) < 2.0


def test_bytes_and_file_decode_alike(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", (1600, 1200), orientation=6)
    from_file = decode(path)
    from_bytes = decode_image_bytes(path.read_bytes(), REQUEST)
    assert from_bytes.metadata == from_file.metadata
    assert from_bytes.phash == from_file.phash
    assert np.array_equal(from_bytes.pixels, from_file.pixels)
    with pytest.raises(FileError) as caught:
        decode_image_bytes(b"", REQUEST)
    assert caught.value.code is ErrorCode.EMPTY_FILE


# --- orientation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "stored_as"),
    [
        (3, Image.Transpose.ROTATE_180),
        (6, Image.Transpose.ROTATE_90),
        (8, Image.Transpose.ROTATE_270),
        (5, Image.Transpose.TRANSPOSE),
    ],
)
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, stored_as: Image.Transpose) -> None:
    upright = photo_image((640, 480), seed=5)
    source = make_jpeg(tmp_path / "upright.jpg", image=upright)
    # What a camera writes: the sensor's pixels, plus a tag saying how to turn them.
    turned = make_jpeg(tmp_path / "turned.jpg", image=upright.transpose(stored_as), orientation=orientation)
    a, b = decode(source), decode(turned)
    assert (b.metadata.width, b.metadata.height) == (640, 480)
    assert b.metadata.orientation == orientation
    assert hamming(a.phash, b.phash) <= 4
    assert mean_abs_diff(a.pixels, b.pixels) < 4.0


def test_broken_orientation_value_is_ignored(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", (320, 240), orientation=42)
    result = decode(path)
    assert (result.metadata.width, result.metadata.height, result.metadata.orientation) == (320, 240, None)


# --- pixel modes ----------------------------------------------------------------------------------


def test_sixteen_bit_png_matches_its_eight_bit_twin(tmp_path: Path) -> None:
    eight = decode(make_png(tmp_path / "8.png", (300, 200), seed=3))
    sixteen = decode(make_png(tmp_path / "16.png", (300, 200), seed=3, bits=16))
    gray16 = decode(make_png(tmp_path / "g16.png", (300, 200), seed=3, bits=16, mode="L"))
    assert mean_abs_diff(eight.pixels, sixteen.pixels) < 1.0
    assert gray16.pixels.std() > 10  # scaled into 0-255, not crushed to black


def test_cmyk_jpeg_comes_out_as_the_rgb_it_depicts(tmp_path: Path) -> None:
    picture = photo_image((400, 300), seed=6)
    rgb = decode(make_jpeg(tmp_path / "rgb.jpg", image=picture, quality=95))
    cmyk = decode(make_jpeg(tmp_path / "cmyk.jpg", image=picture, mode="CMYK", quality=95))
    assert mean_abs_diff(rgb.pixels, cmyk.pixels) < 6.0


def test_transparency_is_composited_onto_white(tmp_path: Path) -> None:
    palette = decode(make_png(tmp_path / "pa.png", (224, 224), mode="PA"))
    # The transparent top-left quarter is white, whatever colour its palette entry holds.
    assert (palette.pixels[:100, :100] == 255).all()
    assert palette.pixels[150:, 150:].std() > 5
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (32, 0, 64, 64))
    rgba.save(tmp_path / "rgba.png")
    result = decode(tmp_path / "rgba.png", DecodeRequest(model_size=64))
    assert (result.pixels[:, :28] == 255).all()
    assert (result.pixels[:, 36:] == (0, 0, 255)).all()


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "I;16", "I", "F", "LAB", "YCbCr", "CMYK", "RGBA"])
def test_every_pillow_mode_becomes_rgb(tmp_path: Path, mode: str) -> None:
    picture = photo_image((120, 90), seed=7)
    converted = picture.convert("L").convert(mode) if mode in {"1", "LA", "I;16", "I", "F"} else picture.convert(mode)
    path = tmp_path / "a.tif"
    converted.save(path)
    result = decode(path, DecodeRequest(model_size=64))
    assert result.pixels.shape == (64, 64, 3) and result.pixels.dtype == np.uint8
    assert result.pixels.std() > 5


def test_animations_decode_their_first_frame(tmp_path: Path) -> None:
    red, blue = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (0, 0, 255))
    for ext in ("gif", "webp", "png"):
        path = tmp_path / f"anim.{ext}"
        red.save(path, save_all=True, append_images=[blue], duration=100, loop=0)
        pixels = decode(path, DecodeRequest(model_size=32)).pixels
        assert pixels[..., 0].mean() > 200 and pixels[..., 2].mean() < 50, ext


def test_heif_and_avif(tmp_path: Path) -> None:
    picture = photo_image((640, 480), seed=8)
    reference = decode(make_jpeg(tmp_path / "ref.jpg", image=picture, quality=95))
    for fmt, ext in (("HEIF", "heic"), ("AVIF", "avif")):
        path = tmp_path / f"a.{ext}"
        if fmt == "HEIF":
            import pillow_heif

            pillow_heif.register_heif_opener()
        picture.save(path, fmt, quality=90)
        result = decode(path)
        assert (result.metadata.format, result.metadata.width, result.metadata.height) == (fmt, 640, 480)
        assert hamming(result.phash, reference.phash) <= 6


def test_heif_without_pillow_heif_names_the_package(tmp_path: Path) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "a.heic"
    photo_image((64, 48)).save(path, "HEIF")
    # A fresh interpreter in which pillow_heif cannot be imported.
    script = (
        "import sys; sys.modules['pillow_heif'] = None\n"
        "from photoindex.indexer.decoding.decode import decode_photo\n"
        "from photoindex.indexer.records import DecodeRequest\n"
        "from photoindex.errors import FileError\n"
        "try:\n"
        f"    decode_photo({str(path)!r}, DecodeRequest(model_size=32))\n"
        "except FileError as exc:\n"
        "    print(exc.code, exc.message)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.startswith("ERR_MISSING_CODEC")
    assert "pip install pillow-heif" in out.stdout


# --- draft mode -----------------------------------------------------------------------------------


def test_large_jpeg_decodes_in_draft_mode(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "big.jpg", (4000, 3000))
    assert decode(path).source == "draft"
    small = make_jpeg(tmp_path / "small.jpg", (400, 300))
    assert decode(small).source == "full"


def test_draft_never_goes_below_the_largest_output(tmp_path: Path) -> None:
    picture = photo_image((3000, 2000), seed=11)
    path = make_jpeg(tmp_path / "big.jpg", image=picture, quality=95)
    request = DecodeRequest(model_size=224, caption_size=900)
    result = decode(path, request)
    assert result.source == "draft"  # 1/2 scale (1500×1000) still covers 900
    expected = np.asarray(picture.resize((900, 900), Image.Resampling.BICUBIC))
    assert mean_abs_diff(result.caption_pixels, expected) < 3.0
    full = decode(path, DecodeRequest(model_size=1500))
    assert full.source == "full"


# --- raws -----------------------------------------------------------------------------------------


def test_dng_uses_its_embedded_preview(tmp_path: Path) -> None:
    path = make_dng_with_preview(
        tmp_path / "a.dng",
        preview_size=(1500, 1000),
        raw_size=(3000, 2000),
        make="Canon",
        model="EOS R5",
        taken_at="2024:01:02 03:04:05",
    )
    result = decode(path)
    assert result.source == "raw-preview"
    meta = result.metadata
    assert (meta.format, meta.width, meta.height) == ("DNG", 3000, 2000)  # the sensor's size, not the preview's
    assert (meta.camera_make, meta.camera_model, meta.taken_at) == ("Canon", "EOS R5", "2024-01-02T03:04:05")
    assert hamming(result.phash, perceptual_hash(photo_image((3000, 2000)))) <= 4


def test_raw_bytes_decode_like_the_file(tmp_path: Path) -> None:
    path = make_dng_with_preview(tmp_path / "a.dng", (600, 400), (600, 400))
    from_bytes = decode_image_bytes(path.read_bytes(), REQUEST, name="upload.dng")
    assert from_bytes.source == "raw-preview"
    assert from_bytes.phash == decode(path).phash


def test_dng_with_a_small_preview_or_none_is_demosaiced(tmp_path: Path) -> None:
    small_preview = make_dng_with_preview(tmp_path / "a.dng", preview_size=(160, 120), raw_size=(800, 600))
    no_preview = make_dng_without_preview(tmp_path / "b.dng", raw_size=(800, 600))
    reference = perceptual_hash(photo_image((800, 600)))
    for path in (small_preview, no_preview):
        result = decode(path)
        assert result.source == "raw-demosaic"
        assert (result.metadata.width, result.metadata.height) == (800, 600)
        assert hamming(result.phash, reference) <= 8


def test_dng_orientation_turns_preview_and_demosaic_alike(tmp_path: Path) -> None:
    upright = perceptual_hash(photo_image((900, 600)).transpose(Image.Transpose.ROTATE_270))  # orientation 6
    preview = decode(make_dng_with_preview(tmp_path / "a.dng", (900, 600), (900, 600), orientation=6))
    demosaic = decode(make_dng_without_preview(tmp_path / "b.dng", (900, 600), orientation=6))
    with_exif = decode(
        make_dng_with_preview(tmp_path / "c.dng", (900, 600), (900, 600), orientation=6, preview_exif=True)
    )
    for result in (preview, demosaic, with_exif):
        assert (result.metadata.width, result.metadata.height, result.metadata.orientation) == (600, 900, 6)
        assert hamming(result.phash, upright) <= 8, result.source


def test_blank_raw_is_rejected(tmp_path: Path) -> None:
    path = make_dng_without_preview(tmp_path / "stub.dng", raw_size=(400, 300))
    with tifffile.TiffFile(path) as tiff:
        offset, count = tiff.pages[0].dataoffsets[0], sum(tiff.pages[0].databytecounts)
    with path.open("r+b") as handle:  # strip the image data, as metadata test files do
        handle.seek(offset)
        handle.write(b"\x00" * count)
    assert failure(path) is ErrorCode.DECODE_RAW


def test_unreadable_raw_is_a_raw_decode_error(tmp_path: Path) -> None:
    good = make_dng_without_preview(tmp_path / "good.dng", raw_size=(800, 600), seed=2)
    for keep in (0.6, 0.02):
        cut = truncate(make_dng_without_preview(tmp_path / f"cut{keep}.dng", raw_size=(800, 600)), keep)
        # A decode before leaves LibRaw's freed buffers full of that photo: a cut raw must not pick it up.
        decode(good)
        assert failure(cut) is ErrorCode.DECODE_RAW
    fake = tmp_path / "a.cr3"
    fake.write_bytes(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + b"\x00" * 200)
    assert failure(fake) is ErrorCode.DECODE_RAW


# --- failures -----------------------------------------------------------------------------------


def test_decompression_bomb_is_rejected_before_decoding(tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png", (300, 200))
    assert failure(path, DecodeRequest(model_size=32, max_pixels=50_000)) is ErrorCode.TOO_LARGE
    dng = make_dng_with_preview(tmp_path / "a.dng", (300, 200), (300, 200))
    assert failure(dng, DecodeRequest(model_size=32, max_pixels=50_000)) is ErrorCode.TOO_LARGE


def test_truncated_files(tmp_path: Path) -> None:
    jpeg = truncate(make_jpeg(tmp_path / "a.jpg", (1200, 900)), 0.5)
    png = truncate(make_png(tmp_path / "a.png", (600, 400)), 0.5)
    assert failure(jpeg) is ErrorCode.TRUNCATED
    assert failure(png) is ErrorCode.TRUNCATED


def test_empty_missing_garbage_and_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert failure(empty) is ErrorCode.EMPTY_FILE
    assert failure(tmp_path / "gone.jpg") is ErrorCode.VANISHED
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    assert failure(garbage) is ErrorCode.DECODE
    fake_png = tmp_path / "fake.png"
    fake_png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert failure(fake_png) is ErrorCode.DECODE
    assert failure(tmp_path) is ErrorCode.IO  # a directory


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_permission_denied(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", (64, 48))
    path.chmod(0)
    try:
        assert failure(path) is ErrorCode.PERMISSION
    finally:
        path.chmod(0o644)


def test_pillow_warnings_do_not_escape(tmp_path: Path) -> None:
    import warnings

    picture = photo_image((320, 240)).quantize(colors=16)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", transparency=b"\x00" * 16)  # palette transparency as bytes: Pillow warns on convert
    path = tmp_path / "a.png"
    path.write_bytes(buffer.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode(path)
