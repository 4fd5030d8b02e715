"""Known paths grouped by folder, so "every file below this folder" costs what it finds, not the library's size.

A folder moved or rescanned asks for the known files below it; walking the
folders under it finds them without looking at any path elsewhere.
"""

from __future__ import annotations

import os


class FolderTree:
    """Folder → the known paths directly in it, and folder → its subfolders that hold known paths."""

    def __init__(self) -> None:
        self._files: dict[str, set[str]] = {}
        self._children: dict[str, set[str]] = {}

    def add(self, path: str) -> None:
        folder = os.path.dirname(path)
        files = self._files.get(folder)
        if files is None:
            files = self._files[folder] = set()
            self._link(folder)
        files.add(path)

    def discard(self, path: str) -> None:
        folder = os.path.dirname(path)
        files = self._files.get(folder)
        if files is None:
            return
        files.discard(path)
        if not files:
            del self._files[folder]
            self._prune(folder)

    def below(self, folder: str) -> list[str]:
        """Every path anywhere below ``folder`` (not ``folder`` itself)."""
        top = folder.rstrip("/") or "/"
        found: list[str] = []
        todo = [top]
        while todo:
            here = todo.pop()
            found.extend(self._files.get(here, ()))
            todo.extend(self._children.get(here, ()))
        return found

    def _link(self, folder: str) -> None:
        """Record ``folder`` under each ancestor up to the first one already recorded."""
        while True:
            parent = os.path.dirname(folder)
            if parent == folder:
                return
            siblings = self._children.get(parent)
            known = siblings is not None or parent in self._files
            self._children.setdefault(parent, set()).add(folder)
            if known:
                return
            folder = parent

    def _prune(self, folder: str) -> None:
        """Unlink ``folder`` and each ancestor left holding nothing."""
        while folder not in self._files and not self._children.get(folder):
            self._children.pop(folder, None)
            parent = os.path.dirname(folder)
            if parent == folder:
                return
            siblings = self._children.get(parent)
            if siblings is None:
                return
            siblings.discard(folder)
            folder = parent


__all__ = ["FolderTree"]
