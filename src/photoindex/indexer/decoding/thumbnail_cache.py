"""The thumbnail folder under one size limit: least recently served evicted first, dead ones collected.

Thumbnails are named by content (``thumbnails.thumbnail_path``), written by the
decode workers and served by the query API, which rebuilds a missing one on
demand; so any of them may go at any time. The API's other renditions (2x
thumbnails, display images: ``thumbnails.rendition_path``) live in the same
folder and are counted, aged and evicted with them, by the same rules. A file's mtime is its last use:
set when it is written, and again when it is served (at most once a minute
per file). A sweep lists the folder once, deletes the thumbnails of content
no longer in the index, then the least recently used ones until the cache is
back under ``LOW_WATER`` of its limit. Sweeps run in the background (at
start, periodically, and whenever the running total says the limit was
passed), never on the path of one photo. Under disk pressure ``evict``
frees a given number of bytes the same way: the cache yields before the
index does.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from photoindex.indexer.decoding.thumbnails import content_of, thumbnail_path

log = structlog.get_logger(__name__)

# A sweep brings the cache down to this share of its limit, so the next one is not due at once.
LOW_WATER = 0.9
# Thumbnails younger than this are never collected as dead: their photo may be on its way to the store.
YOUNG_S = 300.0
# Serving a thumbnail bumps its mtime at most this often (one metadata write per file and minute).
TOUCH_EVERY_S = 60.0
# Half-written files (a crash between write and rename) older than this are removed.
STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class SweepResult:
    """What one sweep or eviction did."""

    files: int  # thumbnails left
    bytes: int  # their total size
    dead: int  # removed: content no longer indexed
    evicted: int  # removed: least recently served
    freed: int  # bytes removed


@dataclass(frozen=True)
class _Entry:
    used: float
    size: int
    path: str
    sha: str


class ThumbnailCache:
    """``<cache dir>/thumbs`` kept under ``max_bytes``; thread-safe."""

    def __init__(self, cache_dir: Path, *, max_bytes: int) -> None:
        self.cache_dir = Path(cache_dir)
        self.root = self.cache_dir / "thumbs"
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # one sweep or eviction at a time
        self._total = 0  # bytes, as of the last sweep plus what was added since
        self._counted = False  # _total comes from a sweep
        # Why thumbnails must not be written now (the disk is short), or None; set by the daemon.
        self.refusal: Callable[[], str | None] = lambda: None
        # Called on the event loop when a file the API wrote passed the limit; the daemon's upkeep sweeps then.
        self.on_full: Callable[[], None] = lambda: None

    def path(self, sha256: str) -> Path:
        return thumbnail_path(self.cache_dir, sha256)

    @property
    def total_bytes(self) -> int:
        """The cache's size as last counted, plus what was written since (an upper bound)."""
        return self._total

    def over_limit(self) -> bool:
        """True when a sweep is due: the running total passed the limit (or nothing was counted yet)."""
        return not self._counted or self._total > self.max_bytes

    def added(self, path: Path) -> bool:
        """A thumbnail was (maybe) written at ``path``; True when that passed the limit."""
        try:
            self._total += path.stat().st_size
        except OSError:
            return False
        return self._total > self.max_bytes

    def served(self, path: Path) -> None:
        """``path`` was just served: it is the most recently used now."""
        with contextlib.suppress(OSError):
            now = time.time()
            if now - path.stat().st_mtime >= TOUCH_EVERY_S:
                os.utime(path, (now, now))

    def sweep(self, live: Callable[[str], bool] | None = None) -> SweepResult:
        """Remove dead thumbnails (``live(sha)`` false), then the least recently used, down to the low water."""
        with self._lock:
            entries, dead, freed = self._scan(live)
            total = sum(e.size for e in entries)
            target = int(self.max_bytes * LOW_WATER) if total > self.max_bytes else total
            evicted, freed_lru, total = self._evict_oldest(entries, total, target)
            self._total, self._counted = total, True
        result = SweepResult(len(entries) - evicted, total, dead, evicted, freed + freed_lru)
        if dead or evicted:
            log.info("thumbnails.swept", files=result.files, mb=round(total / 1e6, 1), dead=dead, evicted=evicted)
        return result

    def evict(self, nbytes: int) -> SweepResult:
        """Free ``nbytes``, least recently used first: the disk is short.

        When the whole cache is smaller than that, nothing goes: emptying it would not
        be enough, and the thumbnails still serve while the index is read-only.
        """
        with self._lock:
            entries, _dead, _freed = self._scan(None)
            total = sum(e.size for e in entries)
            target = total - nbytes if total >= nbytes else total
            evicted, freed, total = self._evict_oldest(entries, total, target)
            self._total, self._counted = total, True
        if evicted:
            log.warning("thumbnails.evicted_for_space", evicted=evicted, mb_freed=round(freed / 1e6, 1))
        return SweepResult(len(entries) - evicted, total, 0, evicted, freed)

    def _scan(self, live: Callable[[str], bool] | None) -> tuple[list[_Entry], int, int]:
        entries: list[_Entry] = []
        dead = freed = 0
        now = time.time()
        try:
            buckets = [b for b in os.scandir(self.root) if b.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return entries, 0, 0
        for bucket in buckets:
            try:
                files = list(os.scandir(bucket.path))
            except OSError:
                continue
            for item in files:
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if item.name.startswith("."):  # a writer's temporary file
                    if now - st.st_mtime > STALE_TEMP_S and _unlink(item.path):
                        freed += st.st_size
                    continue
                sha = content_of(item.name)
                if live is not None and now - st.st_mtime > YOUNG_S and not live(sha):
                    if _unlink(item.path):
                        dead += 1
                        freed += st.st_size
                    continue
                entries.append(_Entry(st.st_mtime, st.st_size, item.path, sha))
        return entries, dead, freed

    @staticmethod
    def _evict_oldest(entries: list[_Entry], total: int, target: int) -> tuple[int, int, int]:
        evicted = freed = 0
        if total <= target:
            return 0, 0, total
        for entry in sorted(entries, key=lambda e: e.used):
            if total <= target:
                break
            if _unlink(entry.path):
                evicted += 1
                freed += entry.size
                total -= entry.size
        return evicted, freed, total


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("thumbnails.remove_failed", path=path, error=str(exc))
        return False
    return True


__all__ = ["LOW_WATER", "SweepResult", "ThumbnailCache"]
