"""The oriented RGB "work" image every decoder output is derived from, and the checks and
conversions that make one from whatever Pillow or LibRaw gave us."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.records import PhotoMetadata

_WHITE = (255, 255, 255)
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


@dataclass(frozen=True, slots=True)
class WorkImage:
    """An oriented RGB image no smaller than the largest output, and where it came from."""

    image: Image.Image
    metadata: PhotoMetadata
    source: str


def check_pixels(size: tuple[int, int], max_pixels: int, label: str) -> None:
    """Reject an image that declares no pixels, or more than ``max_pixels`` (a decompression bomb)."""
    width, height = size
    if width <= 0 or height <= 0:
        raise FileError(f"{label} declares an empty {width}x{height} image", code=ErrorCode.DECODE)
    if width * height > max_pixels:
        raise FileError(
            f"{label} is {width}x{height} = {width * height:,} pixels, more than the {max_pixels:,} allowed",
            code=ErrorCode.TOO_LARGE,
        )


def to_rgb(image: Image.Image) -> Image.Image:
    """A Pillow image of whatever mode as 8-bit RGB; transparency is composited onto white."""
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


def orient(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def reduce_for(image: Image.Image, need: int) -> Image.Image:
    """Box-shrink by an integer factor while the shortest side stays ≥ 2×``need`` (cheap, and
    what Pillow's own ``reducing_gap`` does before a final resample)."""
    factor = min(image.size) // (2 * need)
    return image.reduce(factor) if factor >= 2 else image
