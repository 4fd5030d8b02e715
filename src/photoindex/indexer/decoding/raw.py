"""Raw files through LibRaw: the camera's embedded preview when it is big enough to stand for
the photo, a (half-size) demosaic otherwise, and the checks that tell a stripped or blank raw
from a picture (LibRaw decodes those into garbage rather than failing)."""

from __future__ import annotations

import io
from typing import IO, BinaryIO, cast

import numpy as np
import rawpy
from PIL import Image

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.metadata import exif_from_tiff, orientation_of, photo_metadata, read_exif
from photoindex.indexer.decoding.work_image import WorkImage, check_pixels, orient, reduce_for, to_rgb
from photoindex.indexer.records import DecodeRequest

# LibRaw's flip code → the Exif orientation it came from (inverse of dcraw's "50132467").
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_SWAPS_AXES = frozenset({5, 6, 7, 8})
# Stripped or blank raws: the share of raw samples holding one value, above which
# there is no picture (measured: stubs 0.999–1.0, real raws < 0.3).
_RAW_DOMINANT_SHARE = 0.97
# Raw data needs more bytes than this per sensor pixel (in bits): the most compressed real
# raw in the corpus has 1.06, metadata-only stubs 0.01–0.05. Checked before demosaicing,
# because LibRaw leaves the missing data uninitialised: a stub decoded in a worker that
# decoded other raws before would come out as a ghost of an earlier photo.
_MIN_RAW_BITS_PER_PIXEL = 0.25
_RAW_SAMPLES = 1 << 16
# A demosaic or preview this flat (std of 8-bit values) is a placeholder, not a photo.
_FLAT_STD = 1.0


def open_raw(
    handle: IO[bytes],
    raw_source: str | IO[bytes],
    size: int,
    fmt: str,
    need: int,
    request: DecodeRequest,
    *,
    label: str,
) -> WorkImage:
    handle.seek(0)
    container_exif = exif_from_tiff(handle)
    if isinstance(raw_source, str):
        source: str | BinaryIO = raw_source
    else:
        raw_source.seek(0)
        source = cast(BinaryIO, raw_source)
    try:
        with rawpy.imread(source) as raw:
            sizes = raw.sizes
            stored = (int(sizes.width), int(sizes.height))
            check_pixels(stored, request.max_pixels, label)
            flip_orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
            preview = _raw_preview(raw, stored, flip_orientation, need, request)
            if preview is not None:
                image, preview_exif = preview
                metadata = photo_metadata(fmt, stored, [container_exif, preview_exif], orientation=flip_orientation)
                return WorkImage(image, metadata, "raw-preview")
            if size * 8 < _MIN_RAW_BITS_PER_PIXEL * int(sizes.raw_width) * int(sizes.raw_height):
                raise FileError(
                    f"{label}: {size:,} bytes cannot hold a {sizes.raw_width}x{sizes.raw_height} raw "
                    "(image data stripped or cut off)",
                    code=ErrorCode.DECODE_RAW,
                )
            image = _raw_demosaic(raw, stored, need, label)
            metadata = photo_metadata(fmt, stored, [container_exif], orientation=flip_orientation)
            return WorkImage(image, metadata, "raw-demosaic")
    except FileError:
        raise
    except MemoryError:
        raise FileError(f"{label}: {fmt} too large to demosaic in memory", code=ErrorCode.TOO_LARGE) from None
    except Exception as exc:  # LibRaw errors, and whatever odd data makes rawpy raise
        detail = str(exc.args[0] if exc.args else exc)
        raise FileError(
            f"{label}: LibRaw cannot decode this {fmt} ({type(exc).__name__}: {detail})", code=ErrorCode.DECODE_RAW
        ) from None


def _raw_preview(
    raw: rawpy.RawPy, stored: tuple[int, int], flip_orientation: int, need: int, request: DecodeRequest
) -> tuple[Image.Image, Image.Exif | None] | None:
    """The camera's embedded preview as a work image, when it is big enough to stand for the photo."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawError, rawpy.NotSupportedError):
        return None
    exif: Image.Exif | None = None
    image: Image.Image
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:  # a JPEG preview arrives as bytes
            image = Image.open(io.BytesIO(cast(bytes, thumb.data)), formats=["JPEG", "MPO"])
            if _preview_too_small(image.size, stored, request) or image.width * image.height > request.max_pixels:
                return None
            image.draft("RGB", (need, need))
            image.load()
            exif = read_exif(image)
        elif thumb.format == rawpy.ThumbFormat.BITMAP:
            image = Image.fromarray(np.ascontiguousarray(thumb.data, dtype=np.uint8))
            if _preview_too_small(image.size, stored, request):
                return None
        else:
            return None
        work = reduce_for(to_rgb(image), need)
    except Exception:  # a broken preview is no reason to fail: demosaic instead
        return None
    if _is_flat(work):
        return None
    own = orientation_of(exif) or 1
    if own != 1:
        return orient(work, own), exif
    if flip_orientation in _SWAPS_AXES:
        # Previews are normally stored as the sensor reads; one already turned upright is left alone.
        sensor_landscape = stored[0] >= stored[1]
        if (work.width >= work.height) != sensor_landscape:
            return work, exif
    return orient(work, flip_orientation), exif


def _preview_too_small(size: tuple[int, int], stored: tuple[int, int], request: DecodeRequest) -> bool:
    """A preview must cover the model input, and the JPEG asked for (a display rendition is 1600 px) unless
    the sensor itself is smaller: demosaicing is slower, but a blown-up preview would be blurred."""
    if min(size) < request.model_size:
        return True
    return request.thumbnail_path is not None and max(size) < min(request.thumbnail_px, max(stored))


def _raw_demosaic(raw: rawpy.RawPy, stored: tuple[int, int], need: int, label: str) -> Image.Image:
    samples = raw.raw_image_visible
    step = max(1, int((samples.shape[0] * samples.shape[1] / _RAW_SAMPLES) ** 0.5))
    sample = np.ascontiguousarray(samples[::step, ::step]).ravel()
    dominant = np.unique(sample, return_counts=True)[1].max() / sample.size if sample.size else 1.0
    if dominant > _RAW_DOMINANT_SHARE:
        raise FileError(
            f"{label}: raw holds no image data ({dominant:.1%} of samples are one value)", code=ErrorCode.DECODE_RAW
        )
    half = min(stored) // 2 >= need  # half-size demosaic: 4× faster, and still big enough
    rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    image = Image.fromarray(rgb)
    work = reduce_for(image, need)
    if _is_flat(work):
        raise FileError(f"{label}: LibRaw produced a blank image", code=ErrorCode.DECODE_RAW)
    return work


def _is_flat(image: Image.Image) -> bool:
    """True for a constant (all-black, all-grey) image: a placeholder, not a photo."""
    tiny = np.asarray(image.resize((16, 16), Image.Resampling.BOX), dtype=np.float32)
    return float(tiny.std()) < _FLAT_STD
