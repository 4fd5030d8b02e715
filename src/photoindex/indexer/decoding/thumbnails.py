"""JPEG thumbnails and display renditions, stored content-addressed and written atomically.

A thumbnail is named by the photo's content hash, so copies share one file and
a renamed photo keeps its thumbnail. Other renditions (the 2x thumbnail, the
display size) sit beside it as ``<sha256>.<kind>.jpg``: one folder, one size
limit, one eviction order for all of them (``thumbnail_cache``). Writers go through a temporary file in
the same folder and ``os.replace``: a reader (or a crash) never sees half a JPEG.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from PIL import Image

__all__ = [
    "DISPLAY_PX",
    "THUMBNAIL_2X_PX",
    "THUMBNAIL_PX",
    "THUMBNAIL_QUALITY",
    "content_of",
    "rendition_path",
    "thumbnail_path",
    "write_thumbnail",
]

THUMBNAIL_PX = 200
THUMBNAIL_QUALITY = 80
# The grid's thumbnail on a 2x (high-DPI) screen.
THUMBNAIL_2X_PX = 400
# The photo view's image: sharp on a large screen, a few hundred KB instead of the original's megabytes.
DISPLAY_PX = 1600


def thumbnail_path(cache_dir: str | os.PathLike[str], sha256: str) -> Path:
    """Where the thumbnail of the content ``sha256`` lives: ``cache_dir/thumbs/ab/<sha256>.jpg``."""
    digest = sha256.lower()
    if len(digest) < 2 or not all(c in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a hex digest: {sha256!r}")
    return Path(cache_dir) / "thumbs" / digest[:2] / f"{digest}.jpg"


def rendition_path(cache_dir: str | os.PathLike[str], sha256: str, kind: str) -> Path:
    """Where another rendition of ``sha256`` lives: beside its thumbnail, as ``<sha256>.<kind>.jpg``."""
    if not kind.isalnum():
        raise ValueError(f"not a rendition kind: {kind!r}")
    base = thumbnail_path(cache_dir, sha256)
    return base.with_name(f"{base.stem}.{kind}.jpg")


def content_of(name: str) -> str:
    """The content hash a cached file's name (``<sha256>.jpg`` or ``<sha256>.<kind>.jpg``) belongs to."""
    return name.split(".", 1)[0]


def write_thumbnail(
    image: Image.Image,
    path: str | os.PathLike[str],
    *,
    max_px: int = THUMBNAIL_PX,
    quality: int = THUMBNAIL_QUALITY,
) -> bool:
    """Write ``image`` shrunk to ``max_px`` on its longest side as an RGB JPEG at ``path``.

    Returns False (and writes nothing) when ``path`` already exists: content
    addressing means an existing file is already the right thumbnail.
    """
    target = Path(path)
    if target.exists():
        return False
    small = image if image.mode == "RGB" else image.convert("RGB")
    scale = max_px / max(small.size)
    if scale < 1:
        size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
        small = small.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem[:16]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            small.save(handle, format="JPEG", quality=quality)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    return True
