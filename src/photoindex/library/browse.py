"""List folders to choose a library root from, only below an allow-list, judged after symlinks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from photoindex.errors import ErrorCode
from photoindex.indexer.discovery import within
from photoindex.library.errors import Rejected

MAX_PATH_CHARS = 4096
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class FolderEntry:
    name: str
    path: str


@dataclass(frozen=True)
class Listing:
    path: str | None  # None: the allow-list itself is listed
    parent: str | None  # None at an allow-list root
    entries: list[FolderEntry]
    truncated: bool


def check_request_path(path: str) -> str:
    """A path from a request, checked for shape only: absolute, bounded, no control characters."""
    if not path or len(path) > MAX_PATH_CHARS or any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise Rejected("expected an absolute folder path without control characters", reason="invalid")
    expanded = os.path.expanduser(path)
    if not os.path.isabs(expanded):
        raise Rejected(f"{path!r} is not an absolute path", reason="invalid")
    return expanded


class Browser:
    """Directory listings under allowed roots (the user's home unless configured)."""

    def __init__(self, roots: tuple[str, ...] = ()) -> None:
        chosen = roots or (str(Path.home()),)
        self.roots = tuple(dict.fromkeys(os.path.realpath(os.path.expanduser(r)) for r in chosen))

    def resolve_allowed(self, path: str) -> str:
        """``path`` resolved (symlinks followed); ``Rejected(forbidden)`` unless inside an allowed root."""
        resolved = os.path.realpath(check_request_path(path))
        if not any(within(resolved, root) for root in self.roots):
            raise Rejected(
                f"{path} is outside the folders that may be browsed", reason="forbidden", code=ErrorCode.PERMISSION
            )
        return resolved

    def list(self, path: str | None, *, hidden: bool = False, limit: int = MAX_ENTRIES) -> Listing:
        """Sub-folders of ``path`` (or the allowed roots when ``path`` is None), sorted by name."""
        if path is None:
            return Listing(None, None, [FolderEntry(os.path.basename(r) or r, r) for r in self.roots], False)
        folder = self.resolve_allowed(path)
        if not os.path.isdir(folder):
            raise Rejected(f"{path} is not a folder", reason="invalid", code=ErrorCode.NOT_FOUND)
        entries: list[FolderEntry] = []
        try:
            with os.scandir(folder) as scan:
                for entry in scan:
                    if not hidden and entry.name.startswith("."):
                        continue
                    child = self._child_folder(entry)
                    if child is not None:
                        entries.append(FolderEntry(entry.name, child))
        except PermissionError:
            raise Rejected(
                f"{path} cannot be listed by this user", reason="forbidden", code=ErrorCode.PERMISSION
            ) from None
        except OSError as exc:
            raise Rejected(
                f"{path} cannot be listed: {exc.strerror or exc}", reason="invalid", code=ErrorCode.IO
            ) from None
        entries.sort(key=lambda e: (e.name.casefold(), e.name))
        parent = os.path.dirname(folder)
        allowed_parent = parent if folder not in self.roots and any(within(parent, r) for r in self.roots) else None
        return Listing(folder, allowed_parent, entries[:limit], len(entries) > limit)

    def _child_folder(self, entry: os.DirEntry[str]) -> str | None:
        try:
            if not entry.is_dir(follow_symlinks=True):
                return None
        except OSError:
            return None
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            return target if any(within(target, r) for r in self.roots) else None
        return entry.path


__all__ = ["Browser", "FolderEntry", "Listing", "check_request_path"]
