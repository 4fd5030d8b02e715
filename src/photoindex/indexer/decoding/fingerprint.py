"""A 32×32 grayscale fingerprint of a photo as displayed: 1 KB that tells a copy of a shot from a re-shot.

Computed by the decoder from the oriented work image (so an EXIF-rotated copy
fingerprints like its source) and stored in the payload as base64; the
duplicate finder compares the fingerprints of perceptual-hash candidates only
(``photoindex.library.duplicates.verify``).
"""

from __future__ import annotations

import base64

import numpy as np
from PIL import Image

__all__ = [
    "FINGERPRINT_BYTES",
    "FINGERPRINT_SIDE",
    "FINGERPRINT_SOURCE_SIDE",
    "decode_fingerprint",
    "fingerprint",
    "fingerprint_array",
]

FINGERPRINT_SIDE = 32
FINGERPRINT_BYTES = FINGERPRINT_SIDE * FINGERPRINT_SIDE
# The decoder works from an image at least this wide, whatever the model's input size. A 32 px
# fingerprint area-averaged from a 64 px image (what a small model alone would ask for) is blurred by
# the draft decode and the box shrink; copies and crops then fall below the verification thresholds.
# bench/duplicates.py: near recall 0.948 from 64 px images, 0.963 from these.
FINGERPRINT_SOURCE_SIDE = 224


def fingerprint(image: Image.Image) -> str:
    """The image squeezed to 32×32 gray (area average, aspect ignored) as base64 of 1024 bytes."""
    gray = image.convert("L") if image.mode != "L" else image
    small = gray.resize((FINGERPRINT_SIDE, FINGERPRINT_SIDE), Image.Resampling.BOX)
    return base64.b64encode(small.tobytes()).decode("ascii")


def decode_fingerprint(value: object) -> bytes | None:
    """The 1024 bytes of a stored fingerprint; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return raw if len(raw) == FINGERPRINT_BYTES else None


def fingerprint_array(raw: bytes) -> np.ndarray:
    """A fingerprint's bytes as a float (32, 32) array."""
    return np.frombuffer(raw, dtype=np.uint8).reshape(FINGERPRINT_SIDE, FINGERPRINT_SIDE).astype(np.float64)
