"""Free space on the data, cache and state folders: watched (statvfs), so a full disk is a state, not a crash.

The embedded store memory-maps its files, and they are sparse: a write into
a page the filesystem has no room for kills the process with SIGBUS, with no
error to catch. So the store must not grow while space is short. ``DiskSpace``
looks at each folder's filesystem (once per filesystem) and says when one has
less than ``store.min_free_mb`` free; the daemon then stops writing and
resumes once the free space is back above the reserve plus ``resume margin``
(so it does not flap around the line). Loading the store also writes: it
fills its vector chunks in memory (on tmpfs that takes the chunk's whole
32 MiB) and saves a few small files, so ``open_need`` says what opening
takes, and ``fill_holes`` allocates the chunks once they exist, so the next
open needs only a little.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

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
    """What loading the store at ``store_dir`` writes, in MB: its vector chunks' holes and a margin."""
    return chunk_holes_mb(store_dir) + OPEN_MARGIN_MB


def chunk_holes_mb(store_dir: Path) -> float:
    """MB of the store's vector chunks that are not allocated yet (a load allocates them on tmpfs)."""
    holes = 0
    for chunk in _vector_chunks(store_dir):
        try:
            st = chunk.stat()
        except OSError:
            continue
        holes += max(0, st.st_size - st.st_blocks * 512)
    return holes / MB


def fill_holes(store_dir: Path) -> int:
    """Allocate the holes of the store's vector chunks (their data unchanged); returns the bytes allocated.

    A load fills these chunks anyway (they are the vectors kept in memory); done while
    there is room, the next start on a fuller disk needs only ``OPEN_MARGIN_MB``, and
    vector writes never land in a page the filesystem has no room for.
    """
    allocated = 0
    for chunk in _vector_chunks(store_dir):
        try:
            st = chunk.stat()
            missing = st.st_size - st.st_blocks * 512
            if missing <= 0:
                continue
            fd = os.open(chunk, os.O_RDWR | os.O_CLOEXEC)
            try:
                os.posix_fallocate(fd, 0, st.st_size)
            finally:
                os.close(fd)
            allocated += missing
        except OSError as exc:
            log.warning("disk.fill_holes_failed", file=str(chunk), error=str(exc))
    return allocated


def _vector_chunks(store_dir: Path) -> list[Path]:
    # <store>/<collection>/segments/<segment>/vector_storage-<name>/vectors/chunk_N.mmap
    return sorted(Path(store_dir).glob("*/segments/*/vector_storage-*/vectors/chunk_*.mmap"))


__all__ = ["MB", "DiskSpace", "Shortage", "chunk_holes_mb", "fill_holes", "open_need_mb"]
