"""The watched library folders: list, add and remove them, persisted to the config file.

A folder is added only if it is a readable directory inside the browse
allow-list (so the API cannot be told to index, and then serve, arbitrary
parts of the disk) and neither contains nor lies inside another root. The
running daemon is told through ``on_change``; without one, the change applies
at the next start. A removed folder's photos stay in the index, marked as
outside any watched folder (still searchable, re-adopted without inference
when a folder holding them is watched again), unless ``purge`` removes them;
``on_remove`` does either, once: the daemon's indexer when one runs, else the
store directly.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from photoindex.config import Settings
from photoindex.errors import ErrorCode
from photoindex.indexer.discovery import canonical_root, within
from photoindex.indexer.store import PhotoFilter, VectorStore
from photoindex.library.browse import Browser, check_request_path
from photoindex.library.config_file import write_watch_folders
from photoindex.library.errors import Rejected

FoldersChanged = Callable[[tuple[str, ...]], Awaitable[None] | None]
# (folder, purge) → how many photos were removed (purge) or kept outside any watched folder.
FolderRemoved = Callable[[str, bool], Awaitable[int]]
_ENV_FOLDERS = "PHOTOINDEX_WATCH__FOLDERS"


@dataclass(frozen=True)
class FolderChange:
    folders: tuple[str, ...]
    applied_now: bool  # the daemon was told; False: it takes effect at the next start
    comments_kept: bool
    note: str | None = None
    photos_removed: int = 0  # a purged folder's photos, gone from the index
    photos_kept: int = 0  # a folder's photos kept, outside any watched folder


class WatchedFolders:
    """The configured roots, kept in memory and in the config file."""

    def __init__(
        self,
        settings: Settings,
        browser: Browser,
        *,
        config_file: Path | None,
        host_id: str,
        on_remove: FolderRemoved,
        on_change: FoldersChanged | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._folders = tuple(dict.fromkeys(canonical_root(f) for f in settings.watch.folders))
        self._browser = browser
        self._config_file = config_file
        self._on_change = on_change
        self._on_remove = on_remove
        self._host_id = host_id
        self._env_override = _ENV_FOLDERS in (os.environ if env is None else env)
        self._lock = anyio.Lock()

    @property
    def folders(self) -> tuple[str, ...]:
        return self._folders

    def counts(self, store: VectorStore) -> dict[str, int]:
        """This host's photos in the index per folder (blocking)."""
        return {f: store.count(PhotoFilter(host_ids=(self._host_id,), roots=(f,))) for f in self._folders}

    async def add(self, path: str) -> FolderChange:
        folder = self._browser.resolve_allowed(check_request_path(path))
        if not os.path.isdir(folder):
            raise Rejected(f"{path} is not a folder", reason="invalid", code=ErrorCode.NOT_FOUND)
        if not os.access(folder, os.R_OK | os.X_OK):
            raise Rejected(f"{path} cannot be read by this user", reason="forbidden", code=ErrorCode.PERMISSION)
        async with self._lock:
            if folder in self._folders:
                raise Rejected(f"{folder} is already watched", reason="conflict")
            for existing in self._folders:
                if within(folder, existing) or within(existing, folder):
                    raise Rejected(f"{folder} overlaps the watched folder {existing}", reason="conflict")
            return await self._apply((*self._folders, folder))

    async def remove(self, path: str, *, purge: bool = False) -> FolderChange:
        """Stop watching ``path``; its photos are kept (outside any watched folder) unless ``purge``."""
        folder = canonical_root(check_request_path(path))
        async with self._lock:
            if folder not in self._folders:
                raise Rejected(f"{path} is not a watched folder", reason="invalid", code=ErrorCode.NOT_FOUND)
            change = await self._apply(tuple(f for f in self._folders if f != folder))
            photos = await self._on_remove(folder, purge)
        if purge:
            return replace(change, photos_removed=photos)
        return replace(change, photos_kept=photos)

    async def _apply(self, folders: tuple[str, ...]) -> FolderChange:
        if self._config_file is None:
            raise Rejected("no config file is known to this server", reason="unavailable")
        kept = await anyio.to_thread.run_sync(write_watch_folders, self._config_file, list(folders))
        self._folders = folders
        applied = False
        if self._on_change is not None:
            outcome = self._on_change(folders)
            if inspect.isawaitable(outcome):
                await outcome
            applied = True
        note = None
        if self._env_override:
            note = f"{_ENV_FOLDERS} is set and overrides the config file at the next start"
        return FolderChange(folders, applied, kept, note)


__all__ = ["FolderChange", "FolderRemoved", "FoldersChanged", "WatchedFolders"]
