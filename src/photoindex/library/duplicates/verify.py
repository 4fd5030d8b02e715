"""Tell copies of one shot from other shots of one scene: compare aligned 32×32 grayscale fingerprints.

A perceptual hash says "the same picture", and two shots of a colour chart
from a tripod are the same picture to it. A copy (resized, recompressed,
re-encoded, re-toned, EXIF-rotated) keeps the shot's own pixels, so its
fingerprint correlates almost perfectly with the original's; a re-shot moves
the framing, the perspective and the camera's tone curve, which a 32×32
comparison sees. A light crop moves the framing too, so a pair that does not
match as it stands is tried once more with one side cropped back: every crop
of up to ``MAX_CROP`` per axis, on a grid, in both directions; the best
normalised correlation is the score.

Measured on bench/duplicates.py's set (corpus photos, their copies, and the
corpus' own re-shots): see ``SAME_SHOT`` and ``SAME_SHOT_CROPPED``.
"""

from __future__ import annotations

import numpy as np

from photoindex.indexer.decoding.fingerprint import FINGERPRINT_SIDE, fingerprint_array

__all__ = ["MAX_CROP", "SAME_SHOT", "SAME_SHOT_CROPPED", "same_shot", "shot_similarity"]

SAME_SHOT = 0.93  # correlation as they stand: copies but crops ≥ 0.93, re-shots ≤ 0.87 (bench/duplicates.py)
SAME_SHOT_CROPPED = 0.98  # after aligning a crop: most crops ≥ 0.98; one re-shot pair passed 0.975 (bench)
MAX_CROP = 0.06  # a light crop takes at most this share of a side
_SCALES = (0.985, 0.97, 0.955, 0.94)
_PLACES = (0.0, 0.5, 1.0)


def _resampler(scale: float, place: float, side: int) -> np.ndarray:
    """Linear interpolation matrix: ``M @ x`` samples the part of ``x`` (length ``side``) a crop keeps."""
    width = side * scale
    start = (side - width) * place
    centres = start + (np.arange(side) + 0.5) * (width / side) - 0.5
    centres = np.clip(centres, 0, side - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, side - 1)
    frac = centres - low
    m = np.zeros((side, side))
    m[np.arange(side), low] += 1 - frac
    m[np.arange(side), high] += frac
    return m


_CROPS = np.stack([_resampler(s, p, FINGERPRINT_SIDE) for s in _SCALES for p in _PLACES])
_IDENTITY = np.eye(FINGERPRINT_SIDE)[None]
_AXIS = np.concatenate([_IDENTITY, _CROPS])  # per axis: no crop, or one of the grid's
_AXIS_T = _AXIS.transpose(0, 2, 1).copy()


def _normalised(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit norm over the last two axes (a flat image stays zero)."""
    centred = x - x.mean(axis=(-2, -1), keepdims=True)
    norm = np.sqrt((centred * centred).sum(axis=(-2, -1), keepdims=True))
    out: np.ndarray = np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 1e-9)
    return out


def shot_similarity(a: bytes, b: bytes) -> tuple[float, float]:
    """(correlation as they stand, best correlation with one side lightly cropped) of two fingerprints."""
    fa, fb = fingerprint_array(a), fingerprint_array(b)
    na, nb = _normalised(fa), _normalised(fb)
    plain = float((na * nb).sum())
    best = plain
    for source, target in ((fa, nb), (fb, na)):
        # Every (rows crop, columns crop) pair at once: AXIS[i] @ source @ AXIS[j]^T.
        warped = (_AXIS @ source)[:, None] @ _AXIS_T[None]
        best = max(best, float((_normalised(warped) * target).sum(axis=(-2, -1)).max()))
    return plain, best


def same_shot(a: bytes | None, b: bytes | None) -> bool:
    """True when two fingerprints are copies of one shot; without both, the hash's word stands."""
    if a is None or b is None:
        return True
    fa, fb = fingerprint_array(a), fingerprint_array(b)
    if float((_normalised(fa) * _normalised(fb)).sum()) >= SAME_SHOT:
        return True  # most copies: no crop search needed
    return shot_similarity(a, b)[1] >= SAME_SHOT_CROPPED
