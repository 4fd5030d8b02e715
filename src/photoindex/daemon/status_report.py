"""The daemon's status record, computed from what its parts report (``build_status`` changes nothing),
and the status file, rewritten every second.

The counts of the index are tallies ``IndexState`` keeps as it changes, so a
status costs the same at a million photos as at ten.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import anyio
import structlog

from photoindex.config import ModelSettings
from photoindex.daemon.monitored_root import MonitoredRoot
from photoindex.daemon.notify import Notifier
from photoindex.daemon.status import (
    DaemonState,
    DaemonStatus,
    ModelStatus,
    Problem,
    QueueStatus,
    StatusProvider,
    WatchedRoot,
    write_status,
)
from photoindex.indexer.disk.space import Shortage
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.state import IndexState

log = structlog.get_logger(__name__)

STATUS_EVERY_S = 1.0


@dataclass(frozen=True)
class IndexCounts:
    """Known files by status, failed files by error code, and files per root."""

    statuses: Mapping[str, int]
    failures: Mapping[str, int]
    per_root: Mapping[str, int]

    @classmethod
    def of(cls, state: IndexState) -> IndexCounts:
        statuses, failures, per_root = state.counts()
        return cls(statuses, dict(sorted(failures.items())), per_root)


@dataclass(frozen=True)
class StatusInputs:
    """Everything the status record is computed from."""

    state: DaemonState
    roots: Sequence[MonitoredRoot]
    counts: IndexCounts
    rate_per_second: float  # files settled per second, recently
    settling: int
    queued: int
    rescans: int
    scanning: bool
    models: ModelStatus
    shortage: Shortage | None  # the disk is short: nothing is written
    pipeline_ok: bool
    captions_pending: int | None
    places_filled: int
    since_start: Mapping[str, object]  # the run's IndexSummary, as a dict
    started_at: datetime
    wall_now: datetime
    now: float  # monotonic, the clock of the roots' scan schedule
    pid: int
    version: str
    collection: str
    api_url: str | None


def build_status(i: StatusInputs) -> DaemonStatus:
    """The status record for ``i``."""
    watchers = [
        WatchedRoot(
            path=r.path,
            state=r.state,
            mode=r.mode,
            filesystem=r.fstype,
            photos=i.counts.per_root.get(r.path, 0),
            reason=r.reason,
            fix=r.fix,
            last_scan_at=r.last_scan_at,
            last_scan_seconds=round(r.last_scan.seconds, 3) if r.last_scan else None,
            next_scan_in_seconds=round(r.next_scan_at - i.now, 1) if r.next_scan_at != float("inf") else None,
        )
        for r in i.roots
    ]
    problems = [Problem(where=r.path, reason=r.reason or "", fix=r.fix or "") for r in i.roots if r.degraded]
    if i.models.error is not None:
        problems.append(Problem(where="models", reason=i.models.error, fix="see the message"))
    if i.shortage is not None:
        problems.append(Problem(where=i.shortage.folder, reason=i.shortage.reason, fix=i.shortage.fix))
    if not i.pipeline_ok:
        problems.append(
            Problem(where="pipeline", reason="a pipeline stage failed", fix="it restarts itself; see the log")
        )
    waiting = i.queued + i.settling
    rate = i.rate_per_second
    return DaemonStatus(
        state=i.state,
        health="degraded" if problems else "ok",
        problems=problems,
        pid=i.pid,
        version=i.version,
        started_at=i.started_at.isoformat(timespec="seconds"),
        updated_at=i.wall_now.isoformat(timespec="seconds"),
        uptime_seconds=round((i.wall_now - i.started_at).total_seconds(), 1),
        queue=QueueStatus(settling=i.settling, queued=i.queued, rescans=i.rescans, scanning=i.scanning),
        rate_per_second=round(rate, 2),
        eta_seconds=round(waiting / rate, 1) if rate > 0 and waiting else None,
        photos={k: i.counts.statuses.get(k, 0) for k in ("indexed", "pending", "failed")},
        failures_by_code=dict(i.counts.failures),
        captions_pending=i.captions_pending,
        since_start={
            **{k: v for k, v in i.since_start.items() if isinstance(v, int) and k != "seen"},
            # Back-filled places change payloads only: counted here so the library snapshot is re-read.
            **({"places_filled": i.places_filled} if i.places_filled else {}),
        },
        models=i.models,
        watchers=watchers,
        collection=i.collection,
        api_url=i.api_url,
        read_only=i.shortage is not None,
    )


async def keep_status_written(
    state_dir: Path, status: StatusProvider, notifier: Notifier, healthy: Callable[[], bool]
) -> None:
    """Write the status file every second; ping the service manager's watchdog while all is well."""
    interval = notifier.watchdog_interval_s
    last_ping = 0.0
    while True:
        await anyio.sleep(STATUS_EVERY_S)
        try:
            built = status()  # built on the loop, which owns the state it reads
            await anyio.to_thread.run_sync(write_status, state_dir, built)
            written = True
        except OSError as exc:
            # A full disk is reported in the status (when it can be written) and is no reason for the
            # service manager to restart the daemon; any other failure to write is.
            written = exc.errno == errno.ENOSPC
            log.warning("daemon.status_write_failed", error=str(exc))
        now = time.monotonic()
        if interval is not None and now - last_ping >= interval and written and healthy():
            notifier.watchdog()
            last_ping = now


def model_status(settings: ModelSettings, models: ModelWorker) -> ModelStatus:
    """The model worker as the status reports it."""
    error = models.embedder_error
    return ModelStatus(
        embedder="failed" if error else ("loaded" if models.embedder is not None else "unloaded"),
        captioner=_captioner_state(settings, models),
        error=error.message if error else None,
        idle_unload_seconds=settings.idle_unload_s,
        unloads=models.unloads,
    )


def _captioner_state(settings: ModelSettings, models: ModelWorker) -> Literal["loaded", "unloaded", "off"]:
    if settings.captions == "off":
        return "off"
    return "loaded" if models.captioner is not None else "unloaded"


__all__ = ["IndexCounts", "StatusInputs", "build_status", "keep_status_written", "model_status"]
