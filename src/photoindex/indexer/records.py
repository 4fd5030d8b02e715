"""Immutable records passed between pipeline stages.

A file moves through the stages as: ``FileFacts`` (stat) → ``HashedFile``
(+ content hash) → ``DecodedPhoto`` (+ metadata, model pixels, thumbnail,
perceptual hash) → a stored point (+ vector). A file that cannot go on becomes
a ``FileFailure`` carrying a stable error code instead.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec
import numpy as np

from photoindex.config.settings import DEFAULT_MAX_PIXELS
from photoindex.errors import ErrorCode


class FileFacts(msgspec.Struct, frozen=True):
    """What ``stat`` says about a file; enough to tell "unchanged" without reading it."""

    path: str
    root: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def from_stat(cls, path: str, st: os.stat_result, *, root: str) -> FileFacts:
        """The facts of ``path`` (below ``root``) from its ``os.stat``/``lstat`` result."""
        return cls(path=path, root=root, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


class HashedFile(msgspec.Struct, frozen=True):
    """A file whose content hash is known."""

    facts: FileFacts
    sha256: str


class PhotoMetadata(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the file says about the photo. Every field but format/size may be missing."""

    format: str
    width: int
    height: int
    orientation: int | None = None
    taken_at: str | None = None  # ISO 8601, with the UTC offset when the file records one
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    focal_length: float | None = None  # millimetres
    f_number: float | None = None
    exposure_time: float | None = None  # seconds
    iso: int | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None  # metres above sea level


class DecodeRequest(msgspec.Struct, frozen=True):
    """What the decoder should produce for one file."""

    model_size: int  # square side of the embedding model's input
    caption_size: int | None = None  # square side of the captioner's input, None = no caption pixels
    thumbnail_path: str | None = None  # where the JPEG (thumbnail or display rendition) goes; None = none
    thumbnail_px: int = 200  # that JPEG's longest side
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger images are decompression bombs


class DecodedImage(msgspec.Struct, frozen=True):
    """The decoder's answer for one file (crosses the process-pool boundary)."""

    metadata: PhotoMetadata
    pixels: np.ndarray  # uint8 (model_size, model_size, 3): shortest side resized, centre-cropped
    phash: str  # 64-bit DCT perceptual hash as 16 hex digits
    source: str  # "full", "draft", "raw-preview" or "raw-demosaic": which pixels we used
    # np.ndarray uint8 (caption_size, caption_size, 3); None when no caption size was asked for. Typed
    # loosely because inline captioning stacks it unchecked (a request with caption_size always sets it).
    caption_pixels: Any = None
    fingerprint: str | None = None  # 32×32 gray as displayed, base64 (indexer.fingerprint)


class DecodedPhoto(msgspec.Struct, frozen=True):
    """A hashed file together with its decoded image."""

    file: HashedFile
    image: DecodedImage


class FileFailure(msgspec.Struct, frozen=True):
    """A file that could not be indexed; stored durably and retried when it changes."""

    facts: FileFacts
    code: ErrorCode
    message: str
    sha256: str | None = None


__all__ = [
    "DecodeRequest",
    "DecodedImage",
    "DecodedPhoto",
    "FileFacts",
    "FileFailure",
    "HashedFile",
    "PhotoMetadata",
]
