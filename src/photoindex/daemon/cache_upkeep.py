"""Keeps the thumbnail cache under ``cache.max_mb`` and free of the thumbnails of photos gone from the index.

A sweep runs once the daemon is up, every ``SWEEP_EVERY_S``, and as soon as
the thumbnails written since the last one pass the limit; it runs in a
worker thread (one listing of the cache folder), never on the path of a
photo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import structlog

from photoindex.indexer.decoding.thumbnail_cache import SweepResult, ThumbnailCache
from photoindex.indexer.state import IndexState

log = structlog.get_logger(__name__)

# Dead thumbnails (of deleted photos) are collected at least this often.
SWEEP_EVERY_S = 600.0


class CacheUpkeep:
    """The sweeping task and the pipeline's "thumbnail written" hook."""

    def __init__(self, cache: ThumbnailCache, state: Callable[[], IndexState], *, every_s: float = SWEEP_EVERY_S):
        self.cache = cache
        self._state = state  # the pipeline's current state (replaced at start-up)
        self._every_s = every_s
        self._wake = anyio.Event()
        self.sweeps = 0
        self.last: SweepResult | None = None
        cache.on_full = self.wake  # what the API writes (renditions, rebuilt thumbnails) counts too

    def written(self, path: Path) -> None:
        """Called on the loop for each thumbnail a decode produced."""
        if self.cache.added(path):
            self.wake()

    def wake(self) -> None:
        """Sweep now (on the loop): the cache passed its limit."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self.last = await anyio.to_thread.run_sync(self.sweep)
            self.sweeps += 1
            with anyio.move_on_after(self._every_s):
                await self._wake.wait()
            self._wake = anyio.Event()

    def sweep(self) -> SweepResult:
        """One sweep (blocking): dead thumbnails first, then the least recently served over the limit."""
        state = self._state()

        def live(sha: str) -> bool:
            return state.has_indexed(sha) or state.has_pending(sha)

        return self.cache.sweep(live)


__all__ = ["SWEEP_EVERY_S", "CacheUpkeep"]
