"""Decode one photo into what indexing needs: model pixels, metadata, thumbnail, perceptual hash.

This is the hot path and runs in worker processes, so it decodes no more than
the largest output needs: JPEG and HEIF decode in draft mode (DCT scaling, or
an embedded thumbnail), raws use the camera's embedded preview when it is big
enough and a half-size demosaic otherwise. Everything is then derived from one
small oriented RGB "work" image.

Every failure leaves as a ``FileError`` with a stable code; Pillow's warnings
are recorded rather than printed, and used to tell truncation from corruption.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

import numpy as np
import rawpy
import structlog
from PIL import Image, UnidentifiedImageError, features

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.fingerprint import FINGERPRINT_SOURCE_SIDE, fingerprint
from photoindex.indexer.decoding.formats import detect_format_stream, is_raw
from photoindex.indexer.decoding.metadata import exif_from_tiff, orientation_of, photo_metadata, read_exif
from photoindex.indexer.decoding.phash import perceptual_hash
from photoindex.indexer.decoding.thumbnails import write_thumbnail
from photoindex.indexer.records import DecodedImage, DecodeRequest, PhotoMetadata

__all__ = ["decode_image_bytes", "decode_photo"]

log = structlog.get_logger(__name__)

_BICUBIC = Image.Resampling.BICUBIC
_WHITE = (255, 255, 255)
_PHASH_SIDE = 32
# Pillow plugins to try for a format we recognised: skips probing ~40 others, and a
# file that starts like a JPEG is never "identified" as something else.
_PILLOW_PLUGINS: dict[str, list[str]] = {
    "JPEG": ["JPEG", "MPO"],
    "PNG": ["PNG"],
    "GIF": ["GIF"],
    "BMP": ["BMP"],
    "WEBP": ["WEBP"],
    "TIFF": ["TIFF"],
}
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
# Exif orientation → the transpose that displays the stored pixels upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
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


@dataclass(frozen=True, slots=True)
class _Work:
    """An oriented RGB image no smaller than the largest output, and where it came from."""

    image: Image.Image
    metadata: PhotoMetadata
    source: str


def decode_photo(path: str, request: DecodeRequest) -> DecodedImage:
    """Decode the image file at ``path`` as ``request`` asks; raises ``FileError`` on any failure."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the raw reader is done with it
    except FileNotFoundError:
        raise FileError(f"{path} vanished before it could be decoded", code=ErrorCode.VANISHED) from None
    except PermissionError:
        raise FileError(f"no permission to read {path}", code=ErrorCode.PERMISSION) from None
    except OSError as exc:
        raise FileError(f"cannot open {path}: {exc.strerror or exc}", code=ErrorCode.IO) from None
    with handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise FileError(f"{path} is empty", code=ErrorCode.EMPTY_FILE)
            fmt = detect_format_stream(handle, path)
        except OSError as exc:
            raise FileError(f"cannot read {path}: {exc.strerror or exc}", code=ErrorCode.IO) from None
        return _decode(handle, path, size, fmt, request, label=path)


def decode_image_bytes(data: bytes, request: DecodeRequest, *, name: str = "") -> DecodedImage:
    """``decode_photo`` for an image held in memory (an upload); ``name`` helps name TIFF-based raws."""
    label = name or "image"
    if not data:
        raise FileError(f"{label} is empty", code=ErrorCode.EMPTY_FILE)
    handle = io.BytesIO(data)
    return _decode(handle, handle, len(data), detect_format_stream(handle, name), request, label=label)


def _decode(
    handle: IO[bytes],
    raw_source: str | IO[bytes],
    size: int,
    fmt: str | None,
    request: DecodeRequest,
    *,
    label: str,
) -> DecodedImage:
    need = max(
        request.model_size,
        request.caption_size or 0,
        _PHASH_SIDE,
        FINGERPRINT_SOURCE_SIDE,
        request.thumbnail_px if request.thumbnail_path else 0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fmt is not None and is_raw(fmt):
            work = _open_raw(handle, raw_source, size, fmt, need, request, label=label)
        else:
            work = _open_with_pillow(handle, fmt, need, request, caught, label=label)
        return _outputs(work, request)


def _outputs(work: _Work, request: DecodeRequest) -> DecodedImage:
    image = work.image
    caption = None
    if request.caption_size:
        caption = np.array(image.resize((request.caption_size, request.caption_size), _BICUBIC))
    if request.thumbnail_path:
        try:
            write_thumbnail(image, request.thumbnail_path, max_px=request.thumbnail_px)
        except OSError as exc:
            # The thumbnail cache rebuilds what is missing; a full cache disk must not fail the photo.
            log.warning("decode.thumbnail_failed", path=request.thumbnail_path, error=str(exc))
    return DecodedImage(
        metadata=work.metadata,
        pixels=_centre_square(image, request.model_size),
        phash=perceptual_hash(image),
        source=work.source,
        caption_pixels=caption,
        fingerprint=fingerprint(image),
    )


def _centre_square(image: Image.Image, side: int) -> np.ndarray:
    """Shortest side resized to ``side``, centre-cropped square: CLIP's preprocessing, in one resample."""
    width, height = image.size
    crop = min(width, height)
    left, top = (width - crop) / 2, (height - crop) / 2
    return np.array(image.resize((side, side), _BICUBIC, box=(left, top, left + crop, top + crop)))


# --- Pillow -------------------------------------------------------------------------------------


def _open_with_pillow(
    handle: IO[bytes],
    fmt: str | None,
    need: int,
    request: DecodeRequest,
    caught: list[warnings.WarningMessage],
    *,
    label: str,
) -> _Work:
    _ensure_codec(fmt, label)
    handle.seek(0)
    try:
        image: Image.Image = Image.open(handle, formats=_PILLOW_PLUGINS.get(fmt or ""))
        stored = image.size
        _check_pixels(stored, request.max_pixels, label)
        image.draft("RGB", (need, need))
        drafted = image.size != stored
        image.load()
        exif = read_exif(image)
        name = image.format or fmt or "UNKNOWN"
        rgb = _to_rgb(image)
    except FileError:
        raise
    except Exception as exc:  # decoders raise anything on fuzzed input
        raise _pillow_failure(exc, caught, fmt, label) from None
    metadata = photo_metadata(name, stored, [exif])
    work = _orient(_reduce(rgb, need), metadata.orientation or 1)
    return _Work(work, metadata, "draft" if drafted else "full")


def _ensure_codec(fmt: str | None, label: str) -> None:
    if fmt == "HEIF" and not _heif_opener_registered():
        raise FileError(
            f"{label} is HEIF; decoding it needs pillow-heif: pip install pillow-heif", code=ErrorCode.MISSING_CODEC
        )
    if fmt == "AVIF" and not features.check("avif") and not _heif_opener_registered(avif=True):
        raise FileError(
            f"{label} is AVIF; decoding it needs Pillow built with AVIF or pillow-heif: "
            "pip install -U pillow pillow-heif",
            code=ErrorCode.MISSING_CODEC,
        )


@functools.cache
def _heif_opener_registered(*, avif: bool = False) -> bool:
    """Register pillow-heif's Pillow plugin once per process; False when it is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    if avif:
        register_avif = getattr(pillow_heif, "register_avif_opener", None)  # pillow-heif < 1.0 only
        if register_avif is None:
            return False
        register_avif()
    return True


def _check_pixels(size: tuple[int, int], max_pixels: int, label: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise FileError(f"{label} declares an empty {width}x{height} image", code=ErrorCode.DECODE)
    if width * height > max_pixels:
        raise FileError(
            f"{label} is {width}x{height} = {width * height:,} pixels, more than the {max_pixels:,} allowed",
            code=ErrorCode.TOO_LARGE,
        )


def _pillow_failure(
    exc: BaseException, caught: list[warnings.WarningMessage], fmt: str | None, label: str
) -> FileError:
    text = str(exc)
    lower = text.lower()
    what = fmt or "image"
    if isinstance(exc, Image.DecompressionBombError | MemoryError) or "too large" in lower:
        return FileError(
            f"{label}: {what} too large to decode ({text or type(exc).__name__})", code=ErrorCode.TOO_LARGE
        )
    warned_truncated = any("truncated" in str(w.message).lower() for w in caught)
    if isinstance(exc, EOFError) or "truncated" in lower or warned_truncated:
        return FileError(f"{label}: {what} data is truncated ({text or type(exc).__name__})", code=ErrorCode.TRUNCATED)
    if isinstance(exc, UnidentifiedImageError):
        return FileError(f"{label}: not a readable {what} (corrupt or unknown format)", code=ErrorCode.DECODE)
    if "not supported" in lower or "unsupported" in lower or "not available" in lower or "unknown" in lower:
        return FileError(f"{label}: {what} variant not supported ({text})", code=ErrorCode.UNSUPPORTED_FORMAT)
    return FileError(f"{label}: cannot decode {what} ({type(exc).__name__}: {text})", code=ErrorCode.DECODE)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB; transparency is composited onto white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _WIDE_MODES:
        return Image.fromarray(_to_uint8(np.asarray(image))).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")  # L, P, 1, CMYK (Adobe-inverted handled by Pillow), YCbCr, LAB, HSV


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """16/32-bit integer or float samples as 0–255, keeping the range the data actually uses."""
    if values.dtype.kind == "f":
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(values.min()), float(values.max())
        if low >= 0 and high <= 1:
            scaled = values * 255
        elif high > low:
            scaled = (values - low) * (255 / (high - low))
        else:
            scaled = np.zeros_like(values)
    else:
        high = int(values.max()) if values.size else 0
        # Full 16-bit range unless the data is 8- or 12-bit in a 16-bit container.
        top = 255 if high <= 255 else 4095 if high <= 4095 else 65535 if high <= 65535 else high
        scaled = values.astype(np.float64) * (255 / top)
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def _orient(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def _reduce(image: Image.Image, need: int) -> Image.Image:
    """Box-shrink by an integer factor while the shortest side stays ≥ 2×``need`` (cheap, and
    what Pillow's own ``reducing_gap`` does before a final resample)."""
    factor = min(image.size) // (2 * need)
    return image.reduce(factor) if factor >= 2 else image


# --- Raw ----------------------------------------------------------------------------------------


def _open_raw(
    handle: IO[bytes],
    raw_source: str | IO[bytes],
    size: int,
    fmt: str,
    need: int,
    request: DecodeRequest,
    *,
    label: str,
) -> _Work:
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
            _check_pixels(stored, request.max_pixels, label)
            flip_orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
            preview = _raw_preview(raw, stored, flip_orientation, need, request)
            if preview is not None:
                image, preview_exif = preview
                metadata = photo_metadata(fmt, stored, [container_exif, preview_exif], orientation=flip_orientation)
                return _Work(image, metadata, "raw-preview")
            if size * 8 < _MIN_RAW_BITS_PER_PIXEL * int(sizes.raw_width) * int(sizes.raw_height):
                raise FileError(
                    f"{label}: {size:,} bytes cannot hold a {sizes.raw_width}x{sizes.raw_height} raw "
                    "(image data stripped or cut off)",
                    code=ErrorCode.DECODE_RAW,
                )
            image = _raw_demosaic(raw, stored, need, label)
            metadata = photo_metadata(fmt, stored, [container_exif], orientation=flip_orientation)
            return _Work(image, metadata, "raw-demosaic")
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
    raw: Any, stored: tuple[int, int], flip_orientation: int, need: int, request: DecodeRequest
) -> tuple[Image.Image, Image.Exif | None] | None:
    """The camera's embedded preview as a work image, when it is big enough to stand for the photo."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawError, rawpy.NotSupportedError):
        return None
    exif: Image.Exif | None = None
    image: Image.Image
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            image = Image.open(io.BytesIO(thumb.data), formats=["JPEG", "MPO"])
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
        work = _reduce(_to_rgb(image), need)
    except Exception:  # a broken preview is no reason to fail: demosaic instead
        return None
    if _is_flat(work):
        return None
    own = orientation_of(exif) or 1
    if own != 1:
        return _orient(work, own), exif
    if flip_orientation in _SWAPS_AXES:
        # Previews are normally stored as the sensor reads; one already turned upright is left alone.
        sensor_landscape = stored[0] >= stored[1]
        if (work.width >= work.height) != sensor_landscape:
            return work, exif
    return _orient(work, flip_orientation), exif


def _preview_too_small(size: tuple[int, int], stored: tuple[int, int], request: DecodeRequest) -> bool:
    """A preview must cover the model input, and the JPEG asked for (a display rendition is 1600 px) unless
    the sensor itself is smaller: demosaicing is slower, but a blown-up preview would be blurred."""
    if min(size) < request.model_size:
        return True
    return request.thumbnail_path is not None and max(size) < min(request.thumbnail_px, max(stored))


def _raw_demosaic(raw: Any, stored: tuple[int, int], need: int, label: str) -> Image.Image:
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
    work = _reduce(image, need)
    if _is_flat(work):
        raise FileError(f"{label}: LibRaw produced a blank image", code=ErrorCode.DECODE_RAW)
    return work


def _is_flat(image: Image.Image) -> bool:
    """True for a constant (all-black, all-grey) image: a placeholder, not a photo."""
    tiny = np.asarray(image.resize((16, 16), Image.Resampling.BOX), dtype=np.float32)
    return float(tiny.std()) < _FLAT_STD
