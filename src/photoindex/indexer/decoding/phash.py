"""64-bit DCT perceptual hash of an image, and the Hamming distance between two hashes.

The classic pHash recipe: grayscale, 32×32, 2-D DCT-II, keep the 8×8 lowest
frequencies, set a bit where a coefficient exceeds their median. Near-identical
photos (re-encoded, resized, slightly edited) land within a few bits.
Callers hash the oriented image, so a copy that differs only in its EXIF
orientation tag hashes like its source.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["HASH_BITS", "hamming", "hash_gray32", "perceptual_hash"]

HASH_BITS = 64
_SIDE = 32
_KEEP = 8


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II basis: ``dct(x) == M @ x`` for a length-``n`` column."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m: np.ndarray = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0, :] = np.sqrt(1.0 / n)
    return m


# Only the first _KEEP rows are ever needed: 8×32 @ 32×32 @ 32×8 instead of a full 2-D DCT.
_DCT_ROWS = _dct_matrix(_SIDE)[:_KEEP]


def perceptual_hash(image: Image.Image) -> str:
    """The pHash of ``image`` (any mode) as 16 lower-case hex digits."""
    gray = image.convert("L") if image.mode != "L" else image
    small = gray.resize((_SIDE, _SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return hash_gray32(np.asarray(small, dtype=np.float64))


def hash_gray32(gray: np.ndarray) -> str:
    """The pHash of a 32×32 grayscale array (the part of ``perceptual_hash`` after resizing)."""
    # Rounded so float noise (±1e-13 on a flat image) cannot flip bits between machines.
    coefficients = np.round(_DCT_ROWS @ gray @ _DCT_ROWS.T, 6)
    bits = (coefficients > np.median(coefficients)).ravel()
    return np.packbits(bits).tobytes().hex()


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    if len(a) != len(b):
        raise ValueError(f"hashes differ in length: {len(a)} vs {len(b)}")
    return (int(a, 16) ^ int(b, 16)).bit_count()
