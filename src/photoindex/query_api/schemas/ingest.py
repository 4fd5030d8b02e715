"""Uploads, rescans, watched folders and folder browsing."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from photoindex.query_api import limits

FolderPath = Annotated[str, Meta(min_length=1, max_length=limits.MAX_PATH_CHARS, pattern=limits.REQUEST_PATH_PATTERN)]


class SavedFile(msgspec.Struct):
    name: str
    path: str
    size: int
    format: str


class RefusedFile(msgspec.Struct):
    name: str
    reason: str
    code: str


class UploadResult(msgspec.Struct, kw_only=True):
    """Files saved into the inbox (the watcher indexes them in a moment) and files refused."""

    inbox: str
    saved: list[SavedFile]
    refused: list[RefusedFile]


class ScanRequest(msgspec.Struct, forbid_unknown_fields=True):
    folder: FolderPath


class ScanAccepted(msgspec.Struct):
    folder: str
    queued: bool


class FolderRequest(msgspec.Struct, forbid_unknown_fields=True):
    path: FolderPath


class WatchedFolder(msgspec.Struct, kw_only=True):
    path: str
    exists: bool
    photos: int


class FolderList(msgspec.Struct, kw_only=True):
    folders: list[WatchedFolder]
    inbox: str
    applied_now: bool | None = None  # after a change: the daemon was told (else: at its next start)
    comments_kept: bool | None = None
    note: str | None = None


class BrowseEntry(msgspec.Struct):
    name: str
    path: str


class BrowseListing(msgspec.Struct, kw_only=True):
    path: str | None  # null: the allowed top-level folders are listed
    parent: str | None
    entries: list[BrowseEntry]
    truncated: bool


__all__ = [
    "BrowseEntry",
    "BrowseListing",
    "FolderList",
    "FolderRequest",
    "RefusedFile",
    "SavedFile",
    "ScanAccepted",
    "ScanRequest",
    "UploadResult",
    "WatchedFolder",
]
