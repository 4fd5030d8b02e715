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
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import structlog
from anyio.abc import TaskGroup

from photoindex.config import AppPaths, Settings
from photoindex.daemon.api import start_query_api
from photoindex.daemon.background import IdleWork
from photoindex.daemon.cache_upkeep import CacheUpkeep
from photoindex.daemon.disk_space import Shortage
from photoindex.daemon.events import EventRouter
from photoindex.daemon.lock import OwnerLock
from photoindex.daemon.model_process import ModelProcess
from photoindex.daemon.notify import Notifier
from photoindex.daemon.read_only import wait_for_room_to_open, waiting_status
from photoindex.daemon.reconcile import Reconciler, ScanResult
from photoindex.daemon.roots import FIX_MISSING, RootRegistry, drop_root, mark_availability, unwatch_root
from photoindex.daemon.settle import Settler
from photoindex.daemon.status import (
    DaemonStatus,
    ModelStatus,
    Problem,
    QueueStatus,
    RateMeter,
    WatchedRoot,
    write_status,
)
from photoindex.daemon.supervisor import (
    Components,
    build_daemon_model_worker,
    build_gate,
    build_thumbnail_cache,
    open_components,
)
from photoindex.daemon.watcher import (
    FIX_WATCHES,
    FsEvent,
    ObserverFactory,
    OverflowLog,
    RootWatcher,
    default_observer,
    explain_os_error,
    inotify_watch_count,
)
from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, looks_like_image, within
from photoindex.indexer.models.ids import clip_spec
from photoindex.indexer.records import FileFacts
from photoindex.indexer.store.guarded import is_disk_full
from photoindex.indexer.summary import IndexSummary

log = structlog.get_logger(__name__)

# Events waiting for the loop; beyond this they are dropped and the root is rescanned instead.
EVENT_QUEUE = 8192
# Files waiting for the pipeline (it holds a few batches more inside).
WORK_QUEUE = 256
STATUS_EVERY_S = 1.0
HEALTH_EVERY_S = 2.0
# A watcher that failed is tried again after this long (doubling up to 10 minutes).
WATCH_RETRY_S = 30.0
RESCAN_JITTER = 0.1
# A root that does not answer a stat and a directory read within this long counts as unavailable.
ROOT_CHECK_TIMEOUT_S = 10.0
VERSION = "0.1.0"


@dataclass
class _Root:
    path: str
    network: bool = False
    fstype: str = "unknown"
    watcher: RootWatcher | None = None
    state: str = "starting"  # watching | scanning | unavailable
    reason: str | None = None
    fix: str | None = None
    degraded: bool = False  # a problem the user should fix (a network root's scanning is not one)
    retry_at: float = 0.0
    retry_s: float = WATCH_RETRY_S
    next_scan_at: float = float("inf")
    last_scan: ScanResult | None = None
    last_scan_at: str | None = None
    folders: int = 0  # folders holding photos, from the last complete scan


@dataclass
class _Wakeup:
    """An edge-triggered wake-up for one waiting task."""

    event: anyio.Event = field(default_factory=anyio.Event)

    def set(self) -> None:
        self.event.set()

    async def wait(self, timeout: float | None) -> None:
        with anyio.move_on_after(timeout):
            await self.event.wait()
        self.event = anyio.Event()


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
        self.rules = DiscoveryRules(include=watch.include, exclude=watch.exclude, follow_symlinks=watch.follow_symlinks)
        self._extra_roots = list(extra_roots)  # watched for the daemon's own sake: the upload inbox
        self.roots = {r: _Root(r) for r in _distinct_roots([*roots, *self._extra_roots])}
        self.summary = IndexSummary()
        self.settler = Settler(
            settle_s=watch.settle_s,
            max_delay_s=watch.max_delay_s,
            max_pending=watch.max_pending,
            follow_symlinks=watch.follow_symlinks,
        )
        self.registry = RootRegistry(parts.paths.state_dir)
        self._observer_factory = observer_factory
        self._notifier = notifier or Notifier()
        self._api_enabled = api
        self._config_file = config_file
        self._model_host = model_host
        self.api_url: str | None = None
        self.state = "starting"
        self.started_at = datetime.now(UTC)
        self._events_send, self._events_recv = anyio.create_memory_object_stream[FsEvent](EVENT_QUEUE)
        self._work_send, self._work_recv = anyio.create_memory_object_stream[FileFacts](WORK_QUEUE)
        self._in_flight: set[str] = set()
        self._again: dict[str, str] = {}  # path → root: changed again while in the pipeline
        self._settled_total = 0
        self._lost_events: set[str] = set()  # roots whose events overflowed our queue
        self._scan_requests: dict[str, str] = {}  # folder → root
        self._scanning = False
        self._pipeline_ok = True
        self._settle_wake = _Wakeup()
        self._scan_wake = _Wakeup()
        self._rate = RateMeter()
        self._counts_at = 0.0
        self._counts: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})
        self._token: Any = None
        self._tg: TaskGroup | None = None
        self._looking: set[str] = set()  # roots whose availability check is still running
        self._marking = anyio.Lock()  # availability marks of one root at a time, in order
        self._closing = False
        self._overflow = OverflowLog()
        self.router = EventRouter(
            parts.pipeline, self.settler, self.rules, in_flight=self._in_flight.__contains__, summary=self.summary
        )
        self.reconciler = Reconciler(
            parts.pipeline,
            self.rules,
            submit=self._submit,
            too_young=self._too_young,
            available=self._root_available,
            summary=self.summary,
        )
        self._last_activity = time.monotonic()
        self.idle = IdleWork(
            parts,
            self.busy,
            idle_s=self.idle_seconds,
            indexed_total=lambda: self.summary.indexed + self.summary.reused,
        )
        self.gate = parts.gate
        self.gate.on_resume = self._resume_after_disk_full
        self.cache_upkeep = CacheUpkeep(parts.thumbnails, lambda: self.parts.pipeline.state)

    # -- lifecycle -------------------------------------------------------------
    async def run(self, *, task_status: anyio.abc.TaskStatus[Daemon] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled; ``task_status.started`` fires once ready (store open, watchers on)."""
        self._token = anyio.lowlevel.current_token()
        self._overflow.install()
        # watchdog warns when a moved folder's watch is re-added; the watch is right, the warning noise.
        warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)
        pipeline = self.parts.pipeline
        try:
            await pipeline.writer.load_state()
            pipeline.on_file_done = self._file_done
            pipeline.on_settled = self._count_settled
            pipeline.on_thumbnail = self.cache_upkeep.written
            pipeline.writer.wait_writable = self.gate.wait_writable
            await self.gate.check()  # before anything writes: a start on a full disk comes up read-only
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self.gate.run)
                tg.start_soon(self._pipeline_task)
                for root in self.roots.values():
                    await self._bring_up(root, tg)
                if self._api_enabled:
                    hooks = {
                        "status": self.status,
                        "rescan": self.rescan,
                        "on_folders_changed": self.set_roots,
                        "on_folder_removed": self.release_root,
                        "config_file": self._config_file,
                    }
                    self.api_url = await start_query_api(tg, self.settings, self.parts, hooks)
                self.state = "scanning"
                tg.start_soon(self._events_task)
                tg.start_soon(self._settle_task)
                tg.start_soon(self._reconcile_task)
                tg.start_soon(self._health_task, tg)
                tg.start_soon(self.idle.run)
                tg.start_soon(self.cache_upkeep.run)
                tg.start_soon(self._status_task)
                self._write_status()
                self._notifier.ready(self._status_line())
                log.info("daemon.ready", roots=list(self.roots), api=self.api_url, photos=len(pipeline.state.by_path))
                task_status.started(self)
        finally:
            self._closing = True
            self.state = "stopping"
            self._notifier.stopping()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._shutdown)
            self._overflow.uninstall()

    def _shutdown(self) -> None:
        """Blocking clean-up, off the loop (an observer thread may be waiting on the loop meanwhile)."""
        for root in self.roots.values():
            if root.watcher is not None:
                root.watcher.stop()
        if self._model_host is not None:
            self._model_host.kill()  # abandon a batch in flight rather than wait for it
        self.parts.pipeline.decoder.close(grace_s=1.0)
        with contextlib.suppress(OSError):
            self._write_status()
        log.info("daemon.stopped", **{k: v for k, v in self.summary.as_dict().items() if isinstance(v, int) and v})

    # -- hooks for the query API -----------------------------------------------------
    async def rescan(self, folder: str) -> None:
        """Queue a scan of ``folder`` (inside a watched root)."""
        canonical = canonical_root(folder)
        root = next((r for r in self.roots if within(canonical, r)), None)
        if root is None:
            raise PhotoindexError(f"{folder} is not inside a watched folder", code=ErrorCode.NOT_FOUND)
        self._request_scan(canonical, root)

    async def set_roots(self, folders: tuple[str, ...]) -> None:
        """The watched folders changed: watch and scan new ones; stop watching removed ones.

        A removed root's photos stay as they are until ``release_root`` says what becomes of them.
        """
        wanted = _distinct_roots([*folders, *self._extra_roots])
        for path in [r for r in self.roots if r not in wanted]:
            root = self.roots.pop(path)
            if root.watcher is not None:
                watcher, root.watcher = root.watcher, None
                await anyio.to_thread.run_sync(watcher.stop)
            self.settler.forget_under(path)
            for folder in [f for f, r in self._scan_requests.items() if r == path]:
                del self._scan_requests[folder]
            log.info("roots.removed", root=path)
        for path in [r for r in wanted if r not in self.roots]:
            root = self.roots[path] = _Root(path)
            assert self._tg is not None, "the daemon is not running"
            await self._bring_up(root, self._tg)
            log.info("roots.added", root=path)

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
        return bool(len(self.settler) or self._in_flight or self._scan_requests or self._scanning or self._again)

    def idle_seconds(self) -> float:
        """Seconds since the daemon last had something to do (0 while it has)."""
        if self.busy():
            self._last_activity = time.monotonic()
            return 0.0
        return time.monotonic() - self._last_activity

    # -- roots and watchers ----------------------------------------------------
    async def _bring_up(self, root: _Root, tg: TaskGroup) -> None:
        reason = await anyio.to_thread.run_sync(self.registry.check, root.path)
        if reason is not None:
            await self._lose(root, reason, tg)
            return
        facts = await anyio.to_thread.run_sync(self.registry.record, root.path)
        root.network, root.fstype = facts.network, facts.fstype
        was_unavailable = root.state == "unavailable" or self.registry.marked_unavailable(root.path)
        root.state, root.reason, root.fix, root.degraded = "scanning", None, None, False
        if root.network:
            root.reason = f"on a network filesystem ({facts.fstype}): changes made elsewhere raise no events"
            root.fix = "nothing to do: it is rescanned every watch.network_rescan_interval_s"
        else:
            await self._start_watcher(root)
        if was_unavailable:
            tg.start_soon(self._mark, root.path, True)
        self._request_scan(root.path, root.path)

    async def _start_watcher(self, root: _Root) -> None:
        watcher = RootWatcher(root.path, self._deliver, self._observer_factory)
        try:
            await anyio.to_thread.run_sync(watcher.start)
        except OSError as exc:
            reason, fix = explain_os_error(exc)
            root.state, root.reason, root.fix, root.degraded = "scanning", reason, fix, True
            root.retry_at = time.monotonic() + root.retry_s
            root.retry_s = min(root.retry_s * 2, 600.0)
            log.warning("watch.failed", root=root.path, error=str(exc), fix=fix)
            return
        root.watcher = watcher
        root.state, root.reason, root.fix, root.degraded = "watching", None, None, False
        root.retry_s = WATCH_RETRY_S

    async def _lose(self, root: _Root, reason: str, tg: TaskGroup) -> None:
        """The root went away: stop watching, keep its photos, mark them unavailable."""
        if root.watcher is not None:
            watcher, root.watcher = root.watcher, None
            await anyio.to_thread.run_sync(watcher.stop)
        known = self.settler.forget_under(root.path)
        for folder in [f for f, r in self._scan_requests.items() if r == root.path]:
            del self._scan_requests[folder]
        root.state, root.reason, root.fix, root.degraded = "unavailable", reason, FIX_MISSING, True
        log.warning("roots.unavailable", root=root.path, reason=reason, dropped_pending=known)
        if any(True for _ in self.parts.pipeline.state.under(root.path)):
            tg.start_soon(self._mark, root.path, False)

    async def _mark(self, root: str, available: bool) -> None:
        await self.gate.wait_writable()
        async with self._marking:
            if not available:
                self.registry.set_marked_unavailable(root, True)  # first: a crash half-way is repaired at start
            await mark_availability(self.parts.pipeline.writer, root, available)
            if available:
                self.registry.set_marked_unavailable(root, False)

    def _resume_after_disk_full(self) -> None:
        """Space is back: rescan every folder, which finds whatever changed while nothing was written."""
        for root in self.roots.values():
            if root.state != "unavailable":
                self._request_scan(root.path, root.path)
        self._settle_wake.set()

    def _deliver(self, event: FsEvent) -> None:
        """Called on an observer thread: hand the event to the loop, or note that it was lost."""
        if self._closing:
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            anyio.from_thread.run_sync(self._offer, event, token=self._token)

    def _offer(self, event: FsEvent) -> None:
        try:
            self._events_send.send_nowait(event)
        except anyio.WouldBlock:
            if event.root not in self._lost_events:
                log.warning("watch.events_dropped", root=event.root, detail="queue full; the root will be rescanned")
            self._lost_events.add(event.root)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    # -- tasks -------------------------------------------------------------------
    async def _events_task(self) -> None:
        async for event in self._events_recv:
            root = self.roots.get(event.root)
            if root is None or root.state == "unavailable":
                continue
            await self.gate.wait_writable()  # events queue up meanwhile; an overflow means a rescan
            try:
                await self.router.apply(event)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                log.info("watch.event_deferred", root=event.root, reason=str(exc))  # the resume rescan redoes it
            self._settle_wake.set()

    async def _settle_task(self) -> None:
        while True:
            deadline = self.settler.next_deadline()
            await self._settle_wake.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
            await self.gate.wait_writable()  # settled paths stay in the settler while the disk is short
            due = self.settler.take_due(time.monotonic())
            for folder, root in due.rescans:
                self._request_scan(folder, root)
            if due.gone:
                await self._confirm_gone(due.gone)
            if due.ready:
                ready = await anyio.to_thread.run_sync(_images_only, due.ready)
                for facts in ready:
                    await self._submit(facts)

    async def _confirm_gone(self, gone: list[tuple[str, str]]) -> None:
        self._last_activity = time.monotonic()
        state = self.parts.pipeline.state
        removable: list[str] = []
        for path, root in gone:
            if path in self._in_flight:
                self._again[path] = root  # look again once the pipeline is done with it
            elif path in state.by_path:
                removable.append(path)
        by_root: dict[str, list[str]] = {}
        for path in removable:
            by_root.setdefault(state.by_path[path].root, []).append(path)
        for root, paths in by_root.items():
            if self._root_available(root):
                try:
                    await self.parts.pipeline.remove_paths(paths, self.summary)
                except Exception as exc:
                    if not is_disk_full(exc):
                        raise
                    log.info("watch.removal_deferred", root=root, reason=str(exc))  # the resume rescan redoes it

    def _root_available(self, root: str) -> bool:
        """Safe to delete photos of ``root`` whose files are gone: it is there (looked at now if local)."""
        known_root = self.roots.get(root)
        if known_root is None or known_root.state == "unavailable":
            return False
        # A network root is judged by the health check's last look: a dead server must not hang the loop.
        return known_root.network or self.registry.check(root) is None

    async def _submit(self, facts: FileFacts) -> None:
        """Hand a file to the pipeline, unless it is there already (then it is looked at again after)."""
        await self.gate.wait_writable()  # nothing new enters the pipeline while the disk is short
        if facts.path in self._in_flight:
            self._again[facts.path] = facts.root
            return
        self._in_flight.add(facts.path)
        await self._work_send.send(facts)

    def _file_done(self, path: str) -> None:
        self._last_activity = time.monotonic()
        self._in_flight.discard(path)
        root = self._again.pop(path, None)
        if root is not None:
            self.settler.arrived(path, root, time.monotonic())
            self._settle_wake.set()

    def _count_settled(self, n: int) -> None:
        self._settled_total += n

    def _too_young(self, facts: FileFacts) -> None:
        """A scan found a file changed moments ago: let it settle (network roots: rescan its folder later)."""
        now = time.monotonic()
        root = self.roots[facts.root]
        if root.network:
            folder = os.path.dirname(facts.path)
            self.settler.rescan_later(folder, facts.root, now, self.settings.watch.network_settle_s)
        else:
            self.settler.written(facts.path, facts.root, now)
        self._settle_wake.set()

    async def _pipeline_task(self) -> None:
        backoff = 1.0
        while True:
            try:
                await self.parts.pipeline.process(self._work_recv.clone(), self.summary)
                return  # the queue closed: shutting down
            except Exception as exc:  # a bug in a stage: restart it rather than die, and rescan
                self._pipeline_ok = False
                log.exception("daemon.pipeline_failed", error=str(exc), retry_in_s=backoff)
                self._in_flight.clear()
                self._again.clear()
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 300.0)
                for root in self.roots.values():
                    if root.state != "unavailable":
                        self._request_scan(root.path, root.path)
                self._pipeline_ok = True

    def _request_scan(self, folder: str, root: str) -> None:
        if any(within(folder, f) and r == root for f, r in self._scan_requests.items()):
            return  # a scan of an enclosing folder is already waiting
        for inner in [f for f, r in self._scan_requests.items() if r == root and within(f, folder)]:
            del self._scan_requests[inner]
        self._scan_requests[folder] = root
        self._scan_wake.set()

    async def _reconcile_task(self) -> None:
        while True:
            now = time.monotonic()
            for root in self.roots.values():
                if root.state != "unavailable" and now >= root.next_scan_at:
                    self._request_scan(root.path, root.path)
            if not self._scan_requests:
                next_at = min((r.next_scan_at for r in self.roots.values()), default=float("inf"))
                await self._scan_wake.wait(None if next_at == float("inf") else max(0.0, next_at - now))
                continue
            await self.gate.wait_writable()  # scans stay queued while the disk is short
            if not self._scan_requests:
                continue
            folder, root_path = next(iter(self._scan_requests.items()))
            del self._scan_requests[folder]
            root = self.roots[root_path]
            self._scanning = True
            try:
                young_s = self.settings.watch.network_settle_s if root.network else self.settings.watch.settle_s
                result = await self.reconciler.scan(folder, root_path, young_s=young_s)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                log.info("reconcile.deferred", folder=folder, reason=str(exc))
                self._request_scan(folder, root_path)  # again once there is room
                continue
            finally:
                self._scanning = False
                self._last_activity = time.monotonic()
            if folder == root_path:
                self._finish_root_scan(root, result)
            if self.state == "scanning" and not any(r == f for f, r in self._scan_requests.items()):
                self.state = "indexing"
            self._settle_wake.set()

    def _finish_root_scan(self, root: _Root, result: ScanResult) -> None:
        watch = self.settings.watch
        interval = (
            watch.network_rescan_interval_s if (root.network or root.state != "watching") else watch.rescan_interval_s
        )
        root.next_scan_at = (
            time.monotonic() + interval * random.uniform(1 - RESCAN_JITTER, 1 + RESCAN_JITTER)
            if interval > 0
            else float("inf")
        )
        if result.complete:
            root.last_scan, root.folders = result, len(result.folders)
            root.last_scan_at = datetime.now(UTC).isoformat(timespec="seconds")

    async def _health_task(self, tg: TaskGroup) -> None:
        while True:
            await anyio.sleep(HEALTH_EVERY_S)
            reasons = await self._check_roots()
            now = time.monotonic()
            for root in list(self.roots.values()):
                reason = reasons.get(root.path)
                if reason is not None and root.state != "unavailable":
                    await self._lose(root, reason, tg)
                elif reason is None and root.state == "unavailable":
                    log.info("roots.available_again", root=root.path)
                    await self._bring_up(root, tg)
                elif root.watcher is not None and not root.watcher.alive():
                    log.warning("watch.observer_died", root=root.path)
                    watcher, root.watcher = root.watcher, None
                    await anyio.to_thread.run_sync(watcher.stop)
                    root.state, root.degraded = "scanning", True
                    root.reason, root.fix = (
                        "the watcher thread stopped",
                        "nothing: it is restarted and the folder rescanned",
                    )
                    root.retry_at = now
                    self._request_scan(root.path, root.path)
                elif root.state == "scanning" and not root.network and root.watcher is None and now >= root.retry_at:
                    await self._start_watcher(root)
                    if root.watcher is not None:
                        self._request_scan(root.path, root.path)  # events were not seen meanwhile
            for lost in self._lost_events | (set(self.roots) if self._overflow.take() else set()):
                if self.roots[lost].state == "watching":
                    self._request_scan(lost, lost)
            self._lost_events.clear()
            self._check_watch_count()

    async def _check_roots(self) -> dict[str, str | None]:
        """Each root's availability, looked at off the loop. A root whose look hangs (a dead NFS
        server) counts as unavailable, and is not looked at again until that look returns."""
        reasons: dict[str, str | None] = {}
        roots = list(self.roots)

        def check(path: str) -> str | None:
            try:
                return self.registry.check(path)
            finally:
                self._looking.discard(path)  # in the worker thread: when the look really ends

        async def look(path: str) -> None:
            self._looking.add(path)
            reasons[path] = await anyio.to_thread.run_sync(check, path, abandon_on_cancel=True)

        with anyio.move_on_after(ROOT_CHECK_TIMEOUT_S):
            async with anyio.create_task_group() as tg:
                for path in roots:
                    if path not in self._looking:
                        tg.start_soon(look, path)
        for path in roots:
            reasons.setdefault(path, "the folder does not respond (a network server down?)")
        return reasons

    def _check_watch_count(self) -> None:
        """inotify silently skips folders it has no watch for: compare watches with folders seen."""
        watched = [r for r in self.roots.values() if r.watcher is not None and r.watcher.mode == "inotify"]
        needed = sum(r.folders for r in watched if r.last_scan is not None)
        if not needed:
            return
        have = inotify_watch_count()
        if have is None:
            return
        missing = have < needed
        for root in watched:
            if missing and not root.degraded:
                root.degraded = True
                root.reason = f"only {have} inotify watches for {needed} folders: changes in some go unseen"
                root.fix = FIX_WATCHES
                root.next_scan_at = min(
                    root.next_scan_at, time.monotonic() + self.settings.watch.network_rescan_interval_s
                )
            elif not missing and root.degraded and root.reason and "inotify watches" in root.reason:
                root.degraded, root.reason, root.fix = False, None, None

    async def _status_task(self) -> None:
        interval = self._notifier.watchdog_interval_s
        last_ping = 0.0
        while True:
            await anyio.sleep(STATUS_EVERY_S)
            try:
                status = self.status()  # built on the loop, which owns the state it reads
                await anyio.to_thread.run_sync(write_status, self.parts.paths.state_dir, status)
                written = True
            except OSError as exc:
                # A full disk is reported in the status (when it can be written) and is no reason for the
                # service manager to restart the daemon; any other failure to write is.
                written = exc.errno == errno.ENOSPC
                log.warning("daemon.status_write_failed", error=str(exc))
            now = time.monotonic()
            if interval is not None and now - last_ping >= interval and written and self.healthy():
                self._notifier.watchdog()
                last_ping = now

    def healthy(self) -> bool:
        """What the service manager's watchdog is told: the pipeline and the model worker are alive."""
        return self._pipeline_ok and self.parts.models.alive

    # -- status ------------------------------------------------------------------
    def _write_status(self) -> None:
        write_status(self.parts.paths.state_dir, self.status())

    def status(self) -> DaemonStatus:
        """A snapshot of the daemon (cheap; the counts are refreshed every few seconds)."""
        now = time.monotonic()
        if now - self._counts_at > 5.0:
            statuses, failures = self.parts.pipeline.state.counts()
            per_root: dict[str, int] = {}
            for known in list(self.parts.pipeline.state.by_path.values()):
                per_root[known.root] = per_root.get(known.root, 0) + 1
            self._counts = (dict(statuses), dict(sorted(failures.items())), per_root)
            self._counts_at = now
        statuses_d, failures_d, per_root = self._counts
        queued = len(self._in_flight) + len(self._again)
        rate = self._rate.sample(self._settled_total, now)
        watchers = [
            WatchedRoot(
                path=r.path,
                state=r.state,  # type: ignore[arg-type]
                mode="scan" if r.watcher is None else r.watcher.mode,
                filesystem=r.fstype,
                photos=per_root.get(r.path, 0),
                reason=r.reason,
                fix=r.fix,
                last_scan_at=r.last_scan_at,
                last_scan_seconds=round(r.last_scan.seconds, 3) if r.last_scan else None,
                next_scan_in_seconds=round(r.next_scan_at - now, 1) if r.next_scan_at != float("inf") else None,
            )
            for r in self.roots.values()
        ]
        problems = [
            Problem(where=r.path, reason=r.reason or "", fix=r.fix or "") for r in self.roots.values() if r.degraded
        ]
        models = self.parts.models
        if models.embedder_error is not None:
            problems.append(Problem(where="models", reason=models.embedder_error.message, fix="see the message"))
        shortage = self.gate.shortage
        if shortage is not None:
            problems.append(Problem(where=shortage.folder, reason=shortage.reason, fix=shortage.fix))
        if not self._pipeline_ok:
            problems.append(
                Problem(where="pipeline", reason="a pipeline stage failed", fix="it restarts itself; see the log")
            )
        settling = len(self.settler)
        state = self.state
        if state in ("scanning", "indexing") and not self.busy() and not self._scan_requests:
            state = "idle"
            self.state = "idle"
        elif state == "idle" and self.busy():
            state = self.state = "indexing"
        return DaemonStatus(
            state=state,  # type: ignore[arg-type]
            health="degraded" if problems else "ok",
            problems=problems,
            pid=os.getpid(),
            version=VERSION,
            started_at=self.started_at.isoformat(timespec="seconds"),
            updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            uptime_seconds=round((datetime.now(UTC) - self.started_at).total_seconds(), 1),
            queue=QueueStatus(
                settling=settling, queued=queued, rescans=len(self._scan_requests), scanning=self._scanning
            ),
            rate_per_second=round(rate, 2),
            eta_seconds=round((queued + settling) / rate, 1) if rate > 0 and (queued + settling) else None,
            photos={k: statuses_d.get(k, 0) for k in ("indexed", "pending", "failed")},
            failures_by_code=failures_d,
            captions_pending=self.idle.state.captions_pending,
            since_start={
                **{k: v for k, v in self.summary.as_dict().items() if isinstance(v, int) and k != "seen"},
                # Back-filled places change payloads only: counted here so the library snapshot is re-read.
                **({"places_filled": self.idle.state.places_filled} if self.idle.state.places_filled else {}),
            },
            models=ModelStatus(
                embedder="failed"
                if models.embedder_error
                else ("loaded" if models.embedder is not None else "unloaded"),
                captioner=_captioner_state(self.settings, models),
                error=models.embedder_error.message if models.embedder_error else None,
                idle_unload_seconds=self.settings.model.idle_unload_s,
                unloads=models.unloads,
            ),
            watchers=watchers,
            collection=self.parts.spec.collection,
            api_url=self.api_url,
            read_only=shortage is not None,
        )

    def _status_line(self) -> str:
        return f"watching {len(self.roots)} folder(s); {len(self.parts.pipeline.state.by_path)} photos indexed"


def _captioner_state(settings: Settings, models: Any) -> Any:
    if settings.model.captions == "off":
        return "off"
    return "loaded" if models.captioner is not None else "unloaded"


def _images_only(files: list[FileFacts]) -> list[FileFacts]:
    return [f for f in files if looks_like_image(f.path, os.path.basename(f.path))]


def _distinct_roots(roots: list[str]) -> list[str]:
    """Canonical roots, without ones nested in another (the outer one's watcher covers them)."""
    canonical = sorted({canonical_root(r) for r in roots})
    kept: list[str] = []
    for root in canonical:
        if any(within(root, outer) for outer in kept):
            log.warning("roots.nested_skipped", root=root)
            continue
        kept.append(root)
    return kept


# -- the command -------------------------------------------------------------------
def serve(
    settings: Settings,
    *,
    roots: list[str] | None = None,
    api: bool = True,
    log_level: str = "warning",
    config_file: Path | None = None,
    on_ready: Callable[[Daemon], None] | None = None,
) -> None:
    """Run the daemon in the foreground until SIGTERM or SIGINT (``photoindex serve``).

    Raises StoreError(ERR_STORE_IN_USE) at once when another daemon owns the data directory.
    """
    paths = AppPaths.from_settings(settings)
    paths.ensure()
    with OwnerLock.acquire(paths.state_dir, data_dir=paths.data_dir):
        extra: tuple[str, ...] = ()
        if api:
            from photoindex.library.inbox_path import resolve_inbox

            inbox = resolve_inbox(settings, paths)
            inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
            extra = (str(inbox),)  # uploads land here; it is indexed like a library folder
        thumbnails = build_thumbnail_cache(settings, paths)
        space = build_gate(settings, paths, thumbnails).space
        local_store = paths.store_dir if settings.store.url is None else None
        started_at = datetime.now(UTC)
        collection = clip_spec(settings.model).collection

        def say_why(shortage: Shortage) -> None:
            with contextlib.suppress(OSError):  # the state folder may be the full one
                status = waiting_status(shortage, started_at=started_at, collection=collection, version=VERSION)
                write_status(paths.state_dir, status)

        wait_for_room_to_open(space, local_store, thumbnails, Notifier(), on_wait=say_why)
        models, host = build_daemon_model_worker(settings, log_level=log_level)
        with open_components(settings, models=models) as parts:
            folders = list(roots if roots is not None else settings.watch.folders)
            daemon = Daemon(parts, folders, api=api, model_host=host, config_file=config_file, extra_roots=extra)
            anyio.run(_run_until_signal, daemon, on_ready)


async def _run_until_signal(daemon: Daemon, on_ready: Callable[[Daemon], None] | None) -> None:
    async with anyio.create_task_group() as tg:
        await tg.start(_stop_on_signal, tg.cancel_scope)  # from the first moment: start-up can take a while
        await tg.start(daemon.run)
        if on_ready is not None:
            on_ready(daemon)


async def _stop_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for signum in signals:
            log.info("daemon.stopping", signal=signal.Signals(signum).name)
            scope.cancel()
            return


__all__ = ["Daemon", "serve"]
