"""``KnownFile``: one file as the index records it (the record ``IndexState`` answers with)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFile:
    """One indexed (or failed, or pending) file as the store records it."""

    point_id: str
    path: str
    root: str
    size: int
    mtime_ns: int
    inode: int
    status: str  # indexed | pending | failed
    sha256: str | None
    caption_status: str | None = None
    error_code: str | None = None


__all__ = ["KnownFile"]
