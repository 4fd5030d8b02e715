"""``photoindex serve``: watchers, settling, reconcile scans, the pipeline and idle work in one task group.

Start-up order: take the owner lock, open the store, load what the index
knows, start a watcher per root, bind the API port, report ready; then the
first reconcile scan runs (watchers first, so nothing changed during the
scan is missed). Events go through the settler into a bounded work queue
that the pipeline consumes for the daemon's lifetime; a path is never in the
pipeline twice at once. Scans repeat with jitter and whenever events may
have been lost. SIGTERM or SIGINT cancels everything; the batch in flight
is abandoned (a restart redoes it), and the store, which writes through a
write-ahead log, is closed last.

The parts: ``RootMonitor`` follows each root's lifecycle, ``WorkTracker``
the work in hand, ``EventInbox`` the watchers' events, ``DaemonPhase`` the
daemon's own state; ``build_status`` reports them all. This module wires
them and runs their loops.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskGroup

from photoindex.components import Components, discovery_rules
from photoindex.daemon.background import IdleWork
from photoindex.daemon.cache_upkeep import CacheUpkeep
from photoindex.daemon.event_inbox import EventInbox
from photoindex.daemon.events import EventRouter
from photoindex.daemon.index_upkeep import index_upkeep_for
from photoindex.daemon.monitored_root import MonitoredRoot
from photoindex.daemon.notify import Notifier
from photoindex.daemon.phase import DaemonPhase
from photoindex.daemon.reconcile import Reconciler
from photoindex.daemon.root_monitor import RootMonitor
from photoindex.daemon.roots import RootRegistry, drop_root, unwatch_root
from photoindex.daemon.settle import Settler
from photoindex.daemon.status import DaemonState, DaemonStatus, RateMeter, write_status
from photoindex.daemon.status_report import (
    IndexCounts,
    StatusInputs,
    build_status,
    keep_status_written,
    model_status,
)
from photoindex.daemon.watcher import ObserverFactory, default_observer
from photoindex.daemon.work_loops import PipelineLoop, apply_events, run_scans, settle_paths
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.indexer.discovery import canonical_root
from photoindex.indexer.models.process import ModelProcess
from photoindex.indexer.summary import IndexSummary
from photoindex.version import package_version

log = structlog.get_logger(__name__)


class Daemon:
    """The running daemon over one set of components; ``run`` until cancelled."""

    def __init__(
        self,
        parts: Components,
        roots: list[str],
        *,
        observer_factory: ObserverFactory = default_observer,
        notifier: Notifier | None = None,
        api: bool = True,
        model_host: ModelProcess | None = None,
        config_file: Path | None = None,
        extra_roots: tuple[str, ...] = (),
    ) -> None:
        self.parts = parts
        self.settings = parts.settings
        watch = self.settings.watch
        self.rules = discovery_rules(self.settings)
        self.summary = IndexSummary()
        self.settler = Settler(
            settle_s=watch.settle_s,
            max_delay_s=watch.max_delay_s,
            max_pending=watch.max_pending,
            follow_symlinks=watch.follow_symlinks,
        )
        self.gate = parts.gate
        self.phase = DaemonPhase()
        self.work = WorkTracker(
            parts.pipeline, self.settler, self.summary, self.phase, wait_writable=self.gate.wait_writable
        )
        self.inbox = EventInbox()
        self.monitor = RootMonitor(
            roots,
            extra_roots,
            registry=RootRegistry(parts.paths.state_dir),
            work=self.work,
            pipeline=parts.pipeline,
            gate=self.gate,
            inbox=self.inbox,
            observer_factory=observer_factory,
            watch=watch,
        )
        self._notifier = notifier or Notifier()
        self._api_enabled = api
        self._config_file = config_file
        self._model_host = model_host
        self.api_url: str | None = None
        self.started_at = datetime.now(UTC)
        self._rate = RateMeter()
        self._tg: TaskGroup | None = None
        self.router = EventRouter(parts.pipeline, self.rules, work=self.work)
        self.reconciler = Reconciler(
            parts.pipeline,
            self.rules,
            submit=self.work.submit,
            repoint=self.work.repoint,
            too_young=self.monitor.settle_young,
            available=self.monitor.available,
            summary=self.summary,
        )
        self.idle = IdleWork(
            parts,
            self.busy,
            idle_s=self.work.idle_seconds,
            indexed_total=lambda: self.summary.indexed + self.summary.reused,
        )
        self.index_upkeep = index_upkeep_for(
            parts,
            busy=self.busy,
            idle_s=self.work.idle_seconds,
            indexed_total=lambda: self.summary.indexed + self.summary.reused,
        )
        self.gate.on_resume = self._resume_after_disk_full
        self.pipeline_loop = PipelineLoop(parts.pipeline, self.work, self.monitor, self.summary)
        self.cache_upkeep = CacheUpkeep(parts.thumbnails, lambda: self.parts.pipeline.state)

    @property
    def roots(self) -> dict[str, MonitoredRoot]:
        return self.monitor.roots

    @property
    def state(self) -> DaemonState:
        return self.phase.state

    # -- lifecycle -------------------------------------------------------------
    async def run(self, *, task_status: anyio.abc.TaskStatus[Daemon] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled; ``task_status.started`` fires once ready (store open, watchers on)."""
        self.inbox.open()
        # watchdog warns when a moved folder's watch is re-added; the watch is right, the warning noise.
        warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)
        pipeline = self.parts.pipeline
        try:
            await pipeline.writer.load_state()
            pipeline.on_file_done = self.work.file_done
            pipeline.on_settled = self.work.count_settled
            pipeline.on_thumbnail = self.cache_upkeep.written
            pipeline.writer.wait_writable = self.gate.wait_writable
            await self.gate.check()  # before anything writes: a start on a full disk comes up read-only
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self.gate.run)
                tg.start_soon(self.pipeline_loop.run)
                for root in self.monitor:
                    await self.monitor.bring_up(root, tg)
                if self._api_enabled:
                    # uvicorn and Litestar load only in a daemon that serves the API (--no-api: ~13 MB less).
                    from photoindex.daemon.api import start_query_api

                    self.api_url = await start_query_api(tg, self.parts, self, config_file=self._config_file)
                self.phase.ready()
                self.work.changed()
                tg.start_soon(apply_events, self.inbox, self.monitor, self.router, self.work, self.gate)
                tg.start_soon(settle_paths, self.monitor, self.work, self.gate)
                tg.start_soon(run_scans, self.monitor, self.reconciler, self.work, self.gate)
                tg.start_soon(self.monitor.keep_checking, tg)
                tg.start_soon(self.idle.run)
                tg.start_soon(self.cache_upkeep.run)
                if self.index_upkeep is not None:
                    tg.start_soon(self.index_upkeep.run)
                tg.start_soon(
                    keep_status_written, self.parts.paths.state_dir, self.status, self._notifier, self.healthy
                )
                self._write_status()
                self._notifier.ready(self._status_line())
                log.info("daemon.ready", roots=list(self.roots), api=self.api_url, photos=len(pipeline.state))
                task_status.started(self)
        finally:
            self.inbox.closing()
            self.phase.stopping()
            self._notifier.stopping()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._shutdown)
            self.inbox.close()

    def _shutdown(self) -> None:
        """Blocking clean-up, off the loop (an observer thread may be waiting on the loop meanwhile)."""
        self.monitor.stop_watchers()
        if self._model_host is not None:
            self._model_host.kill()  # abandon a batch in flight rather than wait for it
        self.parts.pipeline.decoder.close(grace_s=1.0)
        with contextlib.suppress(OSError):
            self._write_status()
        log.info("daemon.stopped", **{k: v for k, v in self.summary.as_dict().items() if isinstance(v, int) and v})

    # -- hooks for the query API -----------------------------------------------------
    async def rescan(self, folder: str) -> None:
        """Queue a scan of ``folder`` (inside a watched root)."""
        self.work.request_scan(*self.monitor.locate(folder))

    async def set_roots(self, folders: tuple[str, ...]) -> None:
        """The watched folders changed: watch and scan new ones; stop watching removed ones.

        A removed root's photos stay as they are until ``release_root`` says what becomes of them.
        """
        assert self._tg is not None, "the daemon is not running"
        await self.monitor.set_paths(folders, self._tg)

    async def release_root(self, folder: str, purge: bool) -> int:
        """A folder no longer watched: remove its photos (``purge``), else keep them outside any watched folder."""
        root = canonical_root(folder)
        if purge:
            removed = await drop_root(self.parts.pipeline.writer, root)
            log.info("roots.purged", root=root, photos=removed)
            return removed
        kept = await unwatch_root(self.parts.pipeline.writer, root)
        log.info("roots.unwatched", root=root, photos=kept)
        return kept

    def busy(self) -> bool:
        """Anything to do besides idle work: settling paths, files in the pipeline, scans."""
        return self.work.busy()

    def idle_seconds(self) -> float:
        """Seconds since the daemon last had something to do (0 while it has)."""
        return self.work.idle_seconds()

    def healthy(self) -> bool:
        """What the service manager's watchdog is told: the pipeline and the model worker are alive."""
        return self.pipeline_loop.ok and self.parts.models.alive

    def _resume_after_disk_full(self) -> None:
        """Space is back: rescan every folder, which finds whatever changed while nothing was written."""
        self.monitor.rescan_available()
        self.work.settle_wake.set()

    # -- status ------------------------------------------------------------------
    def _write_status(self) -> None:
        write_status(self.parts.paths.state_dir, self.status())

    def status(self) -> DaemonStatus:
        """A snapshot of the daemon (cheap: the counts are tallies the index state keeps)."""
        return build_status(self._status_inputs())

    def _status_inputs(self) -> StatusInputs:
        now = time.monotonic()
        state = self.parts.pipeline.state
        return StatusInputs(
            state=self.phase.state,
            roots=list(self.roots.values()),
            counts=IndexCounts.of(state),
            rate_per_second=self._rate.sample(self.work.settled_total, now),
            settling=len(self.settler),
            queued=self.work.queued,
            rescans=len(self.work.scan_requests),
            scanning=self.work.scanning,
            models=model_status(self.settings.model, self.parts.models),
            shortage=self.gate.shortage,
            pipeline_ok=self.pipeline_loop.ok,
            captions_pending=self.idle.state.captions_pending,
            places_filled=self.idle.state.places_filled,
            since_start=self.summary.as_dict(),
            started_at=self.started_at,
            wall_now=datetime.now(UTC),
            now=now,
            pid=os.getpid(),
            version=package_version(),
            collection=self.parts.spec.collection,
            api_url=self.api_url,
        )

    def _status_line(self) -> str:
        return f"watching {len(self.roots)} folder(s); {len(self.parts.pipeline.state)} photos indexed"


__all__ = ["Daemon"]
