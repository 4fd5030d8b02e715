"""Read-only while the disk is short: the gate every store write passes, and the wait before the store opens.

``ReadOnlyGate`` looks at the free space every second (and every store write
asks it first, through ``refusal``). Below the reserve it first lets the
thumbnail cache yield (least recently served first, when the cache shares
the short filesystem); if that is not enough it goes read-only: the store
refuses writes (``ERR_DISK_FULL``), the daemon's writers wait in
``wait_writable`` with their work kept, and searches go on. Once the free
space is back above the reserve plus a margin it opens again, and
``on_resume`` runs (the daemon rescans every folder, which finds whatever
arrived meanwhile; point ids are per path, so nothing doubles).

``wait_for_room_to_open`` runs before the store is opened: loading it
writes, and a write into a memory-mapped file on a full disk is a SIGBUS.
Until there is room the daemon waits, tells the service manager why (so a
unit is not restarted in a loop) and rescues what it can from the cache.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import anyio
import structlog

from photoindex.daemon.disk_space import MB, DiskSpace, Shortage, fill_holes, holes_mb, open_need_mb
from photoindex.daemon.notify import Notifier
from photoindex.daemon.status import DaemonState, DaemonStatus, ModelStatus, Problem, QueueStatus
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache

log = structlog.get_logger(__name__)

CHECK_EVERY_S = 1.0
OPEN_RETRY_S = 5.0


class ReadOnlyGate:
    """Whether the index may be written now; thread-safe reads, state changed on the event loop."""

    def __init__(self, space: DiskSpace, thumbnails: ThumbnailCache | None, *, store_dir: Path | None) -> None:
        self.space = space
        self.thumbnails = thumbnails
        self.store_dir = store_dir  # the embedded store's folder (None for a server)
        self.shortage: Shortage | None = None  # set while read-only
        self.entered = 0  # how often it went read-only
        self.on_resume: Callable[[], None] | None = None
        self._tripped: Shortage | None = None  # found by a writer, not yet acted on
        self._writable: anyio.Event | None = None
        self._wake: anyio.Event | None = None
        if thumbnails is not None:
            thumbnails.refusal = self.refusal  # no thumbnail is rebuilt into a short disk either

    @property
    def read_only(self) -> bool:
        return self.shortage is not None or self._tripped is not None

    def refusal(self) -> str | None:
        """Why a store write must not happen now (any thread): read-only, or the disk just got short."""
        shortage = self.shortage or self._tripped
        if shortage is None:
            shortage = self.space.shortage()
            if shortage is not None:
                self._tripped = shortage
                if self._wake is not None:
                    self._wake.set()  # the flag is enough for the loop; a set() from a thread is a harmless race
        return shortage.reason if shortage is not None else None

    async def wait_writable(self) -> None:
        """Return at once while writes may go; else when the space is back."""
        while self.read_only:
            if self._writable is None or self._writable.is_set():
                await anyio.sleep(CHECK_EVERY_S)  # the check task has not acted on a writer's finding yet
                continue
            await self._writable.wait()

    async def run(self) -> None:
        """Look at the free space every second until cancelled."""
        self._wake = anyio.Event()
        while True:
            await self.check()
            with anyio.move_on_after(CHECK_EVERY_S):
                await self._wake.wait()
            self._wake = anyio.Event()

    async def check(self) -> None:
        """One look: yield the cache, go read-only, or open up again."""
        if self._writable is None:
            self._writable = anyio.Event()
            self._writable.set()
        if self.shortage is None:
            shortage = await anyio.to_thread.run_sync(self._short_after_cache_yields, abandon_on_cancel=True)
            self._tripped = None
            if shortage is not None:
                self._enter(shortage)
            elif self.store_dir is not None:
                # At every look (a stat per segment file, on tmpfs only): segment files appear as the store
                # grows, and a stop soon after must not leave the next start needing their whole size.
                await anyio.to_thread.run_sync(self._fill_holes_if_room)
            return
        still = await anyio.to_thread.run_sync(self._short_to_resume, abandon_on_cancel=True)
        if still is None:
            self._leave()
        else:
            self.shortage = Shortage(still.folder, still.free_mb, self.space.min_free_mb)

    def _short_after_cache_yields(self) -> Shortage | None:
        shortage = self.space.shortage()
        if shortage is None or self.thumbnails is None or not _same_filesystem(self.thumbnails.cache_dir, shortage):
            return shortage
        wanted = int((self.space.resume_mb - shortage.free_mb) * MB)
        result = self.thumbnails.evict(wanted)
        return self.space.shortage() if result.freed else shortage

    def _short_to_resume(self) -> Shortage | None:
        return self.space.shortage(need_mb=self.space.resume_mb)

    def _fill_holes_if_room(self) -> None:
        assert self.store_dir is not None
        need = holes_mb(self.store_dir)
        if need > 0 and self.space.shortage(need_mb=self.space.min_free_mb + need) is None:
            filled = fill_holes(self.store_dir)
            if filled:
                log.info("disk.store_files_allocated", mb=round(filled / MB, 1))

    def _enter(self, shortage: Shortage) -> None:
        self.shortage = shortage
        self.entered += 1
        self._writable = anyio.Event()
        log.warning("disk.read_only", reason=shortage.reason, fix=shortage.fix)

    def _leave(self) -> None:
        log.info("disk.writable_again", folder=self.shortage.folder if self.shortage else None)
        self.shortage = None
        self._tripped = None
        assert self._writable is not None
        self._writable.set()
        if self.on_resume is not None:
            self.on_resume()


def wait_for_room_to_open(
    space: DiskSpace,
    store_dir: Path | None,
    thumbnails: ThumbnailCache | None,
    notifier: Notifier,
    *,
    on_wait: Callable[[Shortage], None] | None = None,
) -> None:
    """Block until the store can be loaded without writing into a full disk (returns at once when it can)."""
    if store_dir is None or not store_dir.exists():
        return  # a server holds the index; or a new store, which is created small (no load)
    announced = False
    while True:
        need = max(open_need_mb(store_dir), 1.0)
        shortage = space.shortage(need_mb=need)
        if (
            shortage is not None
            and thumbnails is not None
            and _same_filesystem(thumbnails.cache_dir, shortage)
            and thumbnails.evict(int((need - shortage.free_mb) * MB) + MB).freed
        ):
            shortage = space.shortage(need_mb=need)
        if shortage is None:
            return
        if not announced:
            log.warning(
                "disk.too_full_to_open_the_index",
                reason=shortage.reason,
                fix=shortage.fix,
                detail="waiting for space; the index opens by itself once there is room",
            )
            announced = True
        if on_wait is not None:
            on_wait(shortage)
        # READY now, so a Type=notify unit is neither timed out nor restarted while it waits.
        notifier.ready(f"waiting for disk space to open the index: {shortage.reason}")
        notifier.watchdog()
        time.sleep(OPEN_RETRY_S)


def waiting_status(shortage: Shortage, *, started_at: datetime, collection: str, version: str) -> DaemonStatus:
    """What ``photoindex status`` shows while the daemon waits for room to open the store."""
    now = datetime.now(UTC)
    return DaemonStatus(
        state=DaemonState.STARTING,
        health="degraded",
        problems=[Problem(where=shortage.folder, reason=shortage.reason + " to open the index", fix=shortage.fix)],
        pid=os.getpid(),
        version=version,
        started_at=started_at.isoformat(timespec="seconds"),
        updated_at=now.isoformat(timespec="seconds"),
        uptime_seconds=round((now - started_at).total_seconds(), 1),
        queue=QueueStatus(settling=0, queued=0, rescans=0, scanning=False),
        rate_per_second=0.0,
        eta_seconds=None,
        photos={},
        failures_by_code={},
        captions_pending=None,
        since_start={},
        models=ModelStatus(embedder="unloaded", captioner="unloaded", idle_unload_seconds=0.0, unloads=0),
        watchers=[],
        collection=collection,
        read_only=True,
    )


def _same_filesystem(folder: Path, shortage: Shortage) -> bool:
    try:
        return os.stat(folder).st_dev == os.stat(shortage.folder).st_dev
    except OSError:
        return False


__all__ = ["ReadOnlyGate", "wait_for_room_to_open", "waiting_status"]
