"""The wait before the store opens while the disk is short, and what the daemon's status says meanwhile.

``wait_for_room_to_open`` runs before the store is opened: loading it
writes, and a write into a memory-mapped file on a full disk is a SIGBUS.
Until there is room the daemon waits, tells the service manager why (so a
unit is not restarted in a loop) and rescues what it can from the cache.
The gate that keeps writes out once it is open is ``indexer.disk.gate``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from photoindex.daemon.notify import Notifier
from photoindex.daemon.status import DaemonState, DaemonStatus, ModelStatus, Problem, QueueStatus
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache
from photoindex.indexer.disk.gate import same_filesystem
from photoindex.indexer.disk.space import MB, DiskSpace, Shortage, open_need_mb

log = structlog.get_logger(__name__)

OPEN_RETRY_S = 5.0


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
            and same_filesystem(thumbnails.cache_dir, shortage)
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


__all__ = ["wait_for_room_to_open", "waiting_status"]
