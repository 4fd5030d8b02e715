"""A photo by its opaque id: its point, its thumbnails and display rendition (made when missing), its original file.

Files are reached only through the index: the path comes from the stored
point, never from a request, and must still resolve (after symlinks) to a
regular file inside the root it was indexed under.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import anyio

from photoindex.config.settings import DEFAULT_MAX_PIXELS
from photoindex.errors import ErrorCode, FileError, StoreError
from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache
from photoindex.indexer.decoding.thumbnails import DISPLAY_PX, THUMBNAIL_PX, rendition_path, thumbnail_path
from photoindex.indexer.discovery import within
from photoindex.indexer.records import DecodeRequest
from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoPoint, VectorStore

MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
    "DNG": "image/x-adobe-dng",
    "CR2": "image/x-canon-cr2",
    "CR3": "image/x-canon-cr3",
    "CRW": "image/x-canon-crw",
    "NEF": "image/x-nikon-nef",
    "ARW": "image/x-sony-arw",
    "RAF": "image/x-fuji-raf",
    "ORF": "image/x-olympus-orf",
    "RW2": "image/x-panasonic-rw2",
    "PEF": "image/x-pentax-pef",
    "SRW": "image/x-samsung-srw",
    "KDC": "image/x-kodak-kdc",
    "X3F": "image/x-sigma-x3f",
    "IIQ": "image/x-phaseone-iiq",
}
_THUMBNAIL_DECODE_SIDE = 32  # the smallest model input decode accepts; the thumbnail sets the real size


def parse_id(value: str) -> str:
    """The canonical spelling of a point id; ``StoreError(NOT_FOUND)`` for anything that is not one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise StoreError(f"no photo {value!r}", code=ErrorCode.NOT_FOUND) from None


class PhotoFiles:
    """Looks photos up by id and serves their files safely."""

    def __init__(
        self,
        store: VectorStore,
        cache_dir: Path,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        limiter: anyio.CapacityLimiter | None = None,
        thumbnails: ThumbnailCache | None = None,
    ) -> None:
        self._store = store
        self._cache_dir = cache_dir
        self._thumbnails = thumbnails  # the size-limited cache: what was served, and whether to write
        self._max_pixels = max_pixels
        self._limiter = limiter
        self._decode_limiter = anyio.CapacityLimiter(2)

    async def get(self, point_id: str, *, with_vector: bool = False) -> PhotoPoint:
        canonical = parse_id(point_id)
        found = await anyio.to_thread.run_sync(
            lambda: self._store.retrieve([canonical], with_vectors=with_vector), limiter=self._limiter
        )
        if not found:
            raise StoreError(f"no photo {canonical}", code=ErrorCode.NOT_FOUND)
        return found[0]

    async def thumbnail(self, point: PhotoPoint, size: int = THUMBNAIL_PX) -> Path:
        """The cached thumbnail (``size`` px on its longest side) of the photo's content, decoded again if missing.

        The 200 px one is written while indexing; others only on demand, from the original.
        """
        sha = content_hash(point, "thumbnail")
        if size == THUMBNAIL_PX:
            return await self._rendition(point, thumbnail_path(self._cache_dir, sha), size, "thumbnail")
        return await self._rendition(point, rendition_path(self._cache_dir, sha, f"t{size}"), size, "thumbnail")

    async def display(self, point: PhotoPoint) -> Path:
        """An upright JPEG of the photo at most ``DISPLAY_PX`` on its longest side, for formats browsers cannot show."""
        sha = content_hash(point, "display image")
        target = rendition_path(self._cache_dir, sha, f"d{DISPLAY_PX}")
        return await self._rendition(point, target, DISPLAY_PX, "display image")

    async def _rendition(self, point: PhotoPoint, target: Path, px: int, what: str) -> Path:
        """``target`` if cached (now the most recently used), else decoded from the original off the event loop."""
        cache = self._thumbnails
        if target.is_file():
            if cache is not None:
                cache.served(target)
            return target
        refusal = cache.refusal() if cache is not None else None
        if refusal is not None:
            raise FileError(f"the {what} is not cached and cannot be made now: {refusal}", code=ErrorCode.DISK_FULL)
        source = self.original_path(point)
        request = DecodeRequest(
            model_size=_THUMBNAIL_DECODE_SIDE,
            thumbnail_path=str(target),
            thumbnail_px=px,
            max_pixels=self._max_pixels,
        )
        await anyio.to_thread.run_sync(decode_photo, str(source), request, limiter=self._decode_limiter)
        if not target.is_file():
            raise FileError(f"the {what} could not be written (is the cache disk full?)", code=ErrorCode.IO)
        if cache is not None and cache.added(target):
            cache.on_full()
        return target

    def original_path(self, point: PhotoPoint) -> Path:
        """The photo's file, if it is still a regular file inside its root (symlinks resolved)."""
        path, root = point.payload.path, point.payload.root
        if path is None or root is None:
            raise StoreError(f"photo {point.id} has no file on record", code=ErrorCode.NOT_FOUND)
        resolved = os.path.realpath(path)
        if not within(resolved, os.path.realpath(root)):
            raise FileError(f"{path} now leads outside its library folder; not served", code=ErrorCode.PERMISSION)
        try:
            is_file = Path(resolved).is_file()
        except OSError:
            is_file = False
        if not is_file:
            raise FileError(f"{path} is gone", code=ErrorCode.VANISHED)
        return Path(resolved)


def content_hash(point: PhotoPoint, what: str) -> str:
    """The photo's content hash, which names its cached renditions; ``NOT_FOUND`` for a file never indexed."""
    sha = point.payload.sha256
    if sha is None or point.payload.status == PhotoStatus.FAILED:
        raise FileError(f"this file could not be indexed, so it has no {what}", code=ErrorCode.NOT_FOUND)
    return sha


def media_type(point: PhotoPoint) -> str:
    fmt = point.payload.format
    return MEDIA_TYPES.get(fmt, "application/octet-stream") if fmt is not None else "application/octet-stream"


__all__ = ["MEDIA_TYPES", "PhotoFiles", "content_hash", "media_type", "parse_id"]
