"""Real image files for tests and benchmarks: JPEG with EXIF, PNG, DNG raws, truncated copies.

They live beside the benchmarks, which run as plain scripts and so import only
their own folder and the installed package; the tests reach them through
``tests/fixtures/images.py``.

Pixels are photo-like (smooth gradients, soft low-frequency variation and a
few hard-edged shapes) rather than noise, so JPEG sizes, draft decoding and
perceptual hashes behave as they do on photos. Everything is seeded: the same
arguments write the same bytes.

The DNGs are written with tifffile the way cameras lay them out: IFD0 is a
small RGB thumbnail carrying DNGVersion, Make, Model; SubIFDs hold the CFA raw
(RGGB, 16-bit, black/white levels, a colour matrix) and a full JPEG preview.
LibRaw opens them, ``extract_thumb()`` returns the preview, and demosaicing
the CFA gives back the picture.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = [
    "make_dng_with_preview",
    "make_dng_without_preview",
    "make_jpeg",
    "make_png",
    "photo_image",
    "truncate",
    "write_dng",
]

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
# Tags numbered up to Copyright (0x8298) live in IFD0; the Exif IFD's start at ExposureTime (0x829A).
_LAST_IFD0_TAG = 0x8298

# XYZ(D65) → linear sRGB: the DNG ColorMatrix1 of a "camera" whose primaries are sRGB's.
_XYZ_TO_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)
_RAW_BLACK, _RAW_WHITE = 256, 16383


def photo_image(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A deterministic, photo-like RGB image of ``size`` (width, height)."""
    width, height = size
    rng = np.random.default_rng(seed)
    # Sky-to-ground gradient with a few soft blotches, computed small and upsampled (fast at 24 MP).
    lw, lh = max(2, min(width, 256)), max(2, min(height, 256))
    y = np.linspace(0.0, 1.0, lh, dtype=np.float32)[:, None, None]
    top, bottom = rng.uniform(40, 230, 3).astype(np.float32), rng.uniform(20, 200, 3).astype(np.float32)
    low = top * (1 - y) + bottom * y + np.zeros((lh, lw, 3), np.float32)
    blotches = rng.normal(128.0, 30.0, (5, 7, 3)).clip(0, 255).astype(np.uint8)
    low += np.asarray(Image.fromarray(blotches).resize((lw, lh), Image.Resampling.BICUBIC), np.float32) - 128
    image = Image.fromarray(np.clip(low, 0, 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    for _ in range(int(rng.integers(4, 8))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.25) * side
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (cx - r, cy - r * rng.uniform(0.5, 1.5), cx + r, cy + r * rng.uniform(0.5, 1.5))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    if side >= 64:
        image = image.filter(ImageFilter.BoxBlur(1))  # lens softness: no perfectly sharp edges
    return image


def make_jpeg(
    path: str | Path,
    size: tuple[int, int] = (640, 480),
    *,
    seed: int = 0,
    image: Image.Image | None = None,
    exif: Mapping[int, Any] | None = None,
    gps: tuple[float, float, float | None] | None = None,
    orientation: int | None = None,
    taken_at: str | datetime | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
    quality: int = 90,
    mode: str = "RGB",
) -> Path:
    """Write a JPEG with real EXIF; ``size`` is the stored size (before any orientation).

    ``exif`` maps tag numbers to values: IFD0 tags (≤ 0x8298) go to IFD0, the
    rest to the Exif IFD. ``taken_at`` becomes DateTimeOriginal ("YYYY:MM:DD
    HH:MM:SS" or a datetime), ``offset`` OffsetTimeOriginal, ``gps`` (lat, lon,
    altitude-or-None in metres) the GPS IFD. ``image`` overrides the pixels;
    ``mode`` "CMYK" or "L" writes those JPEG flavours.
    """
    path = Path(path)
    picture = image if image is not None else photo_image(size, seed)
    if picture.mode != mode:
        picture = picture.convert(mode)
    data = _exif(exif, gps=gps, orientation=orientation, taken_at=taken_at, offset=offset, make=make, model=model)
    picture.save(path, "JPEG", quality=quality, exif=data)
    return path


def make_png(
    path: str | Path,
    size: tuple[int, int] = (640, 480),
    *,
    seed: int = 0,
    mode: str = "RGB",
    bits: int = 8,
    exif: Mapping[int, Any] | None = None,
    orientation: int | None = None,
) -> Path:
    """Write a PNG: ``mode`` RGB, RGBA, L, P (palette; with alpha as "PA") or ``bits=16`` RGB/L."""
    path = Path(path)
    picture = photo_image(size, seed)
    if bits == 16:
        _write_png16(path, np.asarray(picture if mode == "RGB" else picture.convert("L")))
        return path
    if mode == "RGBA":
        alpha = Image.linear_gradient("L").resize(picture.size)
        picture.putalpha(alpha)
    elif mode == "PA":
        picture = picture.quantize(colors=63)
        palette = (picture.getpalette() or [])[: 63 * 3]
        palette += [0, 0, 0] * (63 - len(palette) // 3)
        picture.putpalette([*palette, 0, 255, 0])  # entry 63: green, fully transparent
        picture.paste(63, (0, 0, picture.width // 2, picture.height // 2))
        picture.info["transparency"] = 63
    elif mode != "RGB":
        picture = picture.convert(mode)
    data = _exif(exif, orientation=orientation)
    save_args: dict[str, Any] = {"exif": data} if len(data) else {}
    if "transparency" in picture.info:
        save_args["transparency"] = picture.info["transparency"]
    picture.save(path, "PNG", **save_args)
    return path


def make_dng_with_preview(
    path: str | Path,
    preview_size: tuple[int, int] = (1200, 800),
    raw_size: tuple[int, int] = (1200, 800),
    *,
    seed: int = 0,
    make: str = "Canon",
    model: str = "EOS Fixture",
    orientation: int = 1,
    taken_at: str = "2024:05:17 10:30:00",
    preview_exif: bool = False,
) -> Path:
    """Write a camera-style DNG: IFD0 thumbnail, CFA raw SubIFD and a JPEG preview SubIFD.

    Sizes are (width, height) as the sensor reads; ``orientation`` goes in IFD0
    like a camera's (the preview is stored unrotated, as cameras store it).
    ``preview_exif`` also embeds EXIF (with the orientation) in the preview JPEG.
    """
    picture = photo_image(raw_size, seed)
    preview = picture.resize(preview_size, Image.Resampling.BICUBIC) if preview_size != raw_size else picture
    buffer = io.BytesIO()
    extra = {"exif": _exif(None, orientation=orientation, make=make, model=model)} if preview_exif else {}
    preview.save(buffer, "JPEG", quality=88, **extra)
    return write_dng(
        path,
        picture,
        buffer.getvalue(),
        preview_size,
        make=make,
        model=model,
        orientation=orientation,
        taken_at=taken_at,
    )


def make_dng_without_preview(
    path: str | Path,
    raw_size: tuple[int, int] = (1200, 800),
    *,
    seed: int = 0,
    make: str = "Canon",
    model: str = "EOS Fixture",
    orientation: int = 1,
    taken_at: str = "2024:05:17 10:30:00",
) -> Path:
    """Write a DNG whose only image is the CFA raw in IFD0 (no thumbnail, no preview)."""
    return write_dng(
        path,
        photo_image(raw_size, seed),
        None,
        None,
        make=make,
        model=model,
        orientation=orientation,
        taken_at=taken_at,
    )


def truncate(path: str | Path, keep_fraction: float) -> Path:
    """Cut the file at ``path`` down to its first ``keep_fraction`` of bytes, in place."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


# --- EXIF ---------------------------------------------------------------------------------------


def _exif(
    tags: Mapping[int, Any] | None,
    *,
    gps: tuple[float, float, float | None] | None = None,
    orientation: int | None = None,
    taken_at: str | datetime | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif_ifd: dict[int, Any] = {}
    for tag, value in (tags or {}).items():
        (exif if tag <= _LAST_IFD0_TAG else exif_ifd)[tag] = value
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if orientation is not None:
        exif[0x0112] = orientation
    if taken_at is not None:
        text = taken_at.strftime("%Y:%m:%d %H:%M:%S") if isinstance(taken_at, datetime) else taken_at
        exif_ifd[0x9003] = text
    if offset is not None:
        exif_ifd[0x9011] = offset
    if exif_ifd:
        exif[EXIF_IFD] = exif_ifd
    if gps is not None:
        lat, lon, alt = gps
        gps_ifd: dict[int, Any] = {
            0: b"\x02\x03\x00\x00",
            1: "N" if lat >= 0 else "S",
            2: _dms(abs(lat)),
            3: "E" if lon >= 0 else "W",
            4: _dms(abs(lon)),
        }
        if alt is not None:
            gps_ifd[5] = 0 if alt >= 0 else 1
            gps_ifd[6] = abs(alt)
        exif[GPS_IFD] = gps_ifd
    return exif


def _dms(degrees: float) -> tuple[float, float, float]:
    whole = int(degrees)
    minutes_f = (degrees - whole) * 60
    minutes = int(minutes_f)
    return (float(whole), float(minutes), round((minutes_f - minutes) * 60, 4))


# --- PNG 16-bit ---------------------------------------------------------------------------------


def _write_png16(path: Path, pixels8: np.ndarray) -> None:
    """A 16-bit PNG (Pillow writes only 8-bit RGB); samples are the 8-bit ones × 257."""
    wide = pixels8.astype(">u2") * 257
    height, width = wide.shape[:2]
    color_type = 2 if wide.ndim == 3 else 0
    rows = wide.reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    )


# --- DNG ----------------------------------------------------------------------------------------


def _mosaic(picture: Image.Image) -> np.ndarray:
    """RGGB Bayer samples of ``picture`` in linear light, scaled between the black and white levels."""
    srgb = np.arange(256, dtype=np.float64) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    to_raw = np.round(_RAW_BLACK + linear * (_RAW_WHITE - _RAW_BLACK)).astype(np.uint16)
    rgb = np.asarray(picture)
    cfa = np.empty(rgb.shape[:2], np.uint16)
    cfa[0::2, 0::2] = to_raw[rgb[0::2, 0::2, 0]]
    cfa[0::2, 1::2] = to_raw[rgb[0::2, 1::2, 1]]
    cfa[1::2, 0::2] = to_raw[rgb[1::2, 0::2, 1]]
    cfa[1::2, 1::2] = to_raw[rgb[1::2, 1::2, 2]]
    return cfa


def _srational(values: tuple[float, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for value in values:
        out += [round(value * 10000), 10000]
    return tuple(out)


def write_dng(
    path: str | Path,
    picture: Image.Image,
    preview_jpeg: bytes | None,
    preview_size: tuple[int, int] | None,
    *,
    make: str,
    model: str,
    orientation: int,
    taken_at: str,
) -> Path:
    import tifffile

    path = Path(path)
    camera_tags = [
        (50706, 1, 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, 1, 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (271, 2, None, make, True),
        (272, 2, None, model, True),
        (274, 3, 1, orientation, True),
        (306, 2, None, taken_at, True),  # DateTime
        (50708, 2, None, f"{make} {model}", True),  # UniqueCameraModel
        (50721, 10, 9, _srational(_XYZ_TO_SRGB), True),  # ColorMatrix1
        (50778, 3, 1, 21, True),  # CalibrationIlluminant1 = D65
        (50728, 5, 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
    ]
    cfa_tags = [
        (33421, 3, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, 1, 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50714, 3, 1, _RAW_BLACK, True),  # BlackLevel
        (50717, 3, 1, _RAW_WHITE, True),  # WhiteLevel
    ]
    cfa = _mosaic(picture)
    with tifffile.TiffWriter(path) as tiff:
        if preview_jpeg is None or preview_size is None:
            tiff.write(cfa, photometric=32803, subfiletype=0, metadata=None, extratags=camera_tags + cfa_tags)
            return path
        thumb = np.asarray(picture.resize((256, max(1, round(256 * picture.height / picture.width)))))
        tiff.write(thumb, photometric="rgb", subfiletype=1, subifds=2, metadata=None, extratags=camera_tags)
        tiff.write(cfa, photometric=32803, subfiletype=0, metadata=None, extratags=cfa_tags)
        width, height = preview_size
        with _jpeg_strips_as_is(tifffile):
            tiff.write(
                iter([preview_jpeg]),
                shape=(height, width, 3),
                dtype=np.uint8,
                photometric="ycbcr",
                subsampling=(2, 2),
                compression=7,
                rowsperstrip=height,
                subfiletype=1,
                metadata=None,
            )
    return path


@contextlib.contextmanager
def _jpeg_strips_as_is(tifffile: Any) -> Iterator[None]:
    """Let tifffile write an already-encoded JPEG strip without the imagecodecs package.

    tifffile looks up an encoder for compression 7 even when handed encoded
    bytes (which it writes as they are); its lookup cache gets a pass-through.
    """
    codecs = tifffile.TIFF.COMPRESSORS._codecs
    previous = codecs.get(7)
    codecs[7] = lambda data, *args, **kwargs: data
    try:
        yield
    finally:
        if previous is None:
            codecs.pop(7, None)
        else:
            codecs[7] = previous
