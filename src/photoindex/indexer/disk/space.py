"""Free space on the data, cache and state folders: watched (statvfs), so a full disk is a state, not a crash.

The embedded store memory-maps its files, and they are sparse: a write into
a page the filesystem has no room for kills the process with SIGBUS, with no
error to catch. So the store must not grow while space is short. ``DiskSpace``
looks at each folder's filesystem (once per filesystem) and says when one has
less than ``store.min_free_mb`` free; the daemon then stops writing and
resumes once the free space is back above the reserve plus ``resume margin``
(so it does not flap around the line). Loading the store also writes: a few
small files everywhere, and on tmpfs every memory-mapped segment file whole;
so ``open_need_mb`` says what opening takes, and ``fill_holes`` allocates
those files while there is room, so the next open needs only a little.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from photoindex.indexer.disk.mounts import filesystem_of

log = structlog.get_logger(__name__)

MB = 1_000_000
# Space a load of the store writes besides filling its vector chunks: config, WAL index, flags (measured: <1 MB).
OPEN_MARGIN_MB = 4
# Read-only ends once the free space is this much above the reserve (or a quarter of it, if more).
RESUME_MARGIN_MB = 2


@dataclass(frozen=True)
class Shortage:
    """One folder's filesystem has less free space than the daemon needs."""

    folder: str
    free_mb: float
    need_mb: float

    @property
    def reason(self) -> str:
        return f"disk full: {self.free_mb:.0f} MB free on {self.folder}, need {self.need_mb:.0f} MB"

    @property
    def fix(self) -> str:
        return (
            f"free space on the filesystem of {self.folder} (or move it: paths.data_dir, paths.cache_dir, "
            "paths.state_dir); indexing resumes by itself, and searches keep working meanwhile"
        )


class DiskSpace:
    """The free space of a few folders, each filesystem looked at once."""

    def __init__(self, folders: Iterable[Path], *, min_free_mb: int) -> None:
        self.folders = list(dict.fromkeys(Path(f) for f in folders))
        self.min_free_mb = min_free_mb
        self.resume_mb = min_free_mb + max(RESUME_MARGIN_MB, min_free_mb / 4)

    def shortage(self, *, need_mb: float | None = None) -> Shortage | None:
        """The first folder with less than ``need_mb`` (default: the reserve) free, or None."""
        need = self.min_free_mb if need_mb is None else need_mb
        for folder, free in self.free_mb().items():
            if free < need:
                return Shortage(str(folder), free, need)
        return None

    def free_mb(self) -> dict[Path, float]:
        """Free megabytes (for an unprivileged user) per folder, one folder per filesystem."""
        seen: dict[int, Path] = {}
        free: dict[Path, float] = {}
        for folder in self.folders:
            try:
                device = os.stat(folder).st_dev
                if device in seen:
                    continue
                seen[device] = folder
                st = os.statvfs(folder)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    log.warning("disk.statvfs_failed", folder=str(folder), error=str(exc))
                continue
            free[folder] = st.f_bavail * st.f_frsize / MB
        return free


def open_need_mb(store_dir: Path) -> float:
    """What loading the store at ``store_dir`` writes, in MB: the holes it fills, and a margin."""
    return holes_mb(store_dir) + OPEN_MARGIN_MB


def holes_mb(store_dir: Path) -> float:
    """MB of the store's segment files that a load would allocate (only on tmpfs, where it does)."""
    holes = 0
    for path in _populated_files(store_dir):
        try:
            st = path.stat()
        except OSError:
            continue
        holes += max(0, st.st_size - st.st_blocks * 512)
    return holes / MB


def fill_holes(store_dir: Path) -> int:
    """Allocate what a load of the store would allocate (data unchanged); returns the bytes allocated.

    On tmpfs a load populates every memory-mapped segment file, which allocates
    it whole: a fresh store with a few photos grows from ~40 to ~160 MB at its
    first reload (measured with qdrant-edge 0.9). Done while there is room, the
    next start on a fuller disk needs only ``OPEN_MARGIN_MB``, and writes never
    land in a page the filesystem has no room for. Elsewhere (ext4, btrfs, ...)
    a load reads holes without allocating them, so there is nothing to do.
    """
    allocated = 0
    for path in _populated_files(store_dir):
        try:
            st = path.stat()
            missing = st.st_size - st.st_blocks * 512
            if missing <= 0:
                continue
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            try:
                os.posix_fallocate(fd, 0, st.st_size)
            finally:
                os.close(fd)
            allocated += missing
        except OSError as exc:
            log.warning("disk.fill_holes_failed", file=str(path), error=str(exc))
    return allocated


def _populated_files(store_dir: Path) -> list[Path]:
    # <store>/<collection>/segments/<segment>/...: what a load maps (the WAL is appended, not mapped whole).
    if not Path(store_dir).exists() or filesystem_of(str(store_dir)) != "tmpfs":
        return []
    return [p for p in Path(store_dir).glob("*/segments/**/*") if p.is_file()]


__all__ = ["MB", "DiskSpace", "Shortage", "fill_holes", "holes_mb", "open_need_mb"]
