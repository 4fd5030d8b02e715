"""Where an embedded collection's shard lives: which directory is the store, and which are builds in progress.

A collection starts in ``<base>/<collection>``. Each vector-index build makes a
new directory beside it, and the swap makes that one the store by rewriting
the pointer file ``<base>/<collection>+current`` (write, fsync, rename: the
pointer is either the old name or the new one, never half of either). A
directory is only named ``<collection>+built-<n>`` once its build finished
(the child process works in ``…+building``), so a half-built directory is
never opened as the store; whatever the pointer does not name is left over
from an interrupted build or swap and is removed at the next open. ``+`` is
not allowed in a collection name, so these names never clash with another
collection's.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_BUILT = re.compile(r"\+built-(\d+)")


class EdgeLayout:
    """The directories of one embedded collection under ``base``."""

    def __init__(self, base: Path, collection: str) -> None:
        self.base = Path(base)
        self.collection = collection

    @property
    def pointer(self) -> Path:
        """The file naming the directory that is the store (absent: the collection's own directory)."""
        return self.base / f"{self.collection}+current"

    @property
    def building(self) -> Path:
        """Where the next build copies the store and the child process optimizes it."""
        return self.base / f"{self.collection}+building"

    def active(self) -> Path:
        """The directory that holds the store now."""
        try:
            name = self.pointer.read_text().strip()
        except FileNotFoundError:
            return self.base / self.collection
        if not self._is_own(name):
            raise ValueError(f"{self.pointer} names {name!r}, which is not a directory of {self.collection}")
        return self.base / name

    def next_built(self) -> Path:
        """The name a finished build takes: one generation past every one present."""
        generations = [
            int(m.group(1)) for p in self._own_dirs() if (m := _BUILT.fullmatch(p.name[len(self.collection) :]))
        ]
        return self.base / f"{self.collection}+built-{max(generations, default=0) + 1}"

    def commit(self, directory: Path) -> None:
        """Make ``directory`` the store: the next open loads it. Atomic and durable once it returns."""
        if directory.parent != self.base or not self._is_own(directory.name):
            raise ValueError(f"{directory} is not a directory of {self.collection} under {self.base}")
        temporary = self.pointer.with_name(self.pointer.name + ".tmp")
        with open(temporary, "w") as out:
            out.write(directory.name + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.pointer)
        _fsync_dir(self.base)

    def leftovers(self) -> list[Path]:
        """This collection's directories other than the store: interrupted builds and replaced stores."""
        active = self.active()
        return [p for p in self._own_dirs() if p != active]

    def remove_leftovers(self) -> None:
        """Delete every leftover directory (only while no build is running)."""
        for path in self.leftovers():
            shutil.rmtree(path, ignore_errors=True)
            log.info("store.leftover_removed", path=str(path))

    def _is_own(self, name: str) -> bool:
        return name == self.collection or (
            name.startswith(self.collection)
            and (_BUILT.fullmatch(name[len(self.collection) :]) is not None or name == self.building.name)
        )

    def _own_dirs(self) -> list[Path]:
        candidates = [self.base / self.collection, self.building, *self.base.glob(f"{self.collection}+built-*")]
        return [p for p in candidates if p.is_dir() and self._is_own(p.name)]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["EdgeLayout"]
