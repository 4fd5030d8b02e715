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
from typing import IO

import numpy as np
import structlog
from PIL import Image, UnidentifiedImageError, features

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.fingerprint import FINGERPRINT_SOURCE_SIDE, fingerprint
from photoindex.indexer.decoding.formats import detect_format_stream, is_raw
from photoindex.indexer.decoding.metadata import photo_metadata, read_exif
from photoindex.indexer.decoding.phash import perceptual_hash
from photoindex.indexer.decoding.raw import open_raw
from photoindex.indexer.decoding.thumbnails import write_thumbnail
from photoindex.indexer.decoding.work_image import WorkImage, check_pixels, orient, reduce_for, to_rgb
from photoindex.indexer.records import DecodedImage, DecodeRequest

__all__ = ["decode_image_bytes", "decode_photo"]

log = structlog.get_logger(__name__)

_BICUBIC = Image.Resampling.BICUBIC
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
            work = open_raw(handle, raw_source, size, fmt, need, request, label=label)
        else:
            work = _open_with_pillow(handle, fmt, need, request, caught, label=label)
        return _outputs(work, request)


def _outputs(work: WorkImage, request: DecodeRequest) -> DecodedImage:
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
) -> WorkImage:
    _ensure_codec(fmt, label)
    handle.seek(0)
    try:
        image: Image.Image = Image.open(handle, formats=_PILLOW_PLUGINS.get(fmt or ""))
        stored = image.size
        check_pixels(stored, request.max_pixels, label)
        image.draft("RGB", (need, need))
        drafted = image.size != stored
        image.load()
        exif = read_exif(image)
        name = image.format or fmt or "UNKNOWN"
        rgb = to_rgb(image)
    except FileError:
        raise
    except Exception as exc:  # decoders raise anything on fuzzed input
        raise _pillow_failure(exc, caught, fmt, label) from None
    metadata = photo_metadata(name, stored, [exif])
    work = orient(reduce_for(rgb, need), metadata.orientation or 1)
    return WorkImage(work, metadata, "draft" if drafted else "full")


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
