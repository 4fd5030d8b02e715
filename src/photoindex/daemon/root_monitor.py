"""Each library root's lifecycle: there or not, watched or only rescanned, and why.

``RootMonitor`` brings each root up, and every few seconds decides, from the
registry's checks and the watchers' health, which transition of
``MonitoredRoot`` (its state: starting, watching, scanning, unavailable)
applies: a root that went away is lost (its photos kept, marked
unavailable), one that came back is brought up again, a watcher that died or
could not start is restarted (with back-off). It also keeps each root's scan
schedule.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator

import anyio
import structlog
from anyio.abc import TaskGroup

from photoindex.config import WatchSettings
from photoindex.daemon.event_inbox import EventInbox
from photoindex.daemon.monitored_root import MonitoredRoot
from photoindex.daemon.reconcile import ScanResult
from photoindex.daemon.roots import RootRegistry, mark_availability
from photoindex.daemon.status import RootState
from photoindex.daemon.watcher import (
    ObserverFactory,
    RootWatcher,
    explain_os_error,
    inotify_watch_count,
)
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.indexer.discovery import canonical_root, within
from photoindex.indexer.disk.gate import ReadOnlyGate
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts

log = structlog.get_logger(__name__)

RESCAN_JITTER = 0.1
HEALTH_EVERY_S = 2.0
# A root that does not answer a stat and a directory read within this long counts as unavailable.
ROOT_CHECK_TIMEOUT_S = 10.0


class RootMonitor:
    """The roots being followed: brings each up, notices it going and coming back, keeps its watcher alive."""

    def __init__(
        self,
        paths: list[str],
        extra_paths: tuple[str, ...] = (),
        *,
        registry: RootRegistry,
        work: WorkTracker,
        pipeline: IndexPipeline,
        gate: ReadOnlyGate,
        inbox: EventInbox,
        observer_factory: ObserverFactory,
        watch: WatchSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._extra_paths = list(extra_paths)  # watched for the daemon's own sake: the upload inbox
        self.roots = {p: MonitoredRoot(p) for p in distinct_roots([*paths, *self._extra_paths])}
        self.registry = registry
        self._work = work
        self._settler = work.settler
        self._pipeline = pipeline
        self._gate = gate
        self._inbox = inbox
        self._observer_factory = observer_factory
        self._watch = watch
        self._clock = clock
        self._looking: set[str] = set()  # roots whose availability check is still running
        self._marking = anyio.Lock()  # availability marks of one root at a time, in order

    def __iter__(self) -> Iterator[MonitoredRoot]:
        return iter(list(self.roots.values()))

    def __len__(self) -> int:
        return len(self.roots)

    # -- roots coming and going ----------------------------------------------------
    async def set_paths(self, folders: tuple[str, ...], tg: TaskGroup) -> None:
        """Follow ``folders`` from now on: bring up new roots, drop removed ones (their photos stay)."""
        wanted = distinct_roots([*folders, *self._extra_paths])
        for path in [r for r in self.roots if r not in wanted]:
            await self._remove(path)
            log.info("roots.removed", root=path)
        for path in [r for r in wanted if r not in self.roots]:
            root = self.roots[path] = MonitoredRoot(path)
            await self.bring_up(root, tg)
            log.info("roots.added", root=path)

    async def _remove(self, path: str) -> None:
        root = self.roots.pop(path)
        watcher = root.take_watcher()
        if watcher is not None:
            await anyio.to_thread.run_sync(watcher.stop)
        self._settler.forget_under(path)
        self._work.drop_scans(path)
        self._work.changed()

    async def bring_up(self, root: MonitoredRoot, tg: TaskGroup) -> None:
        reason = await anyio.to_thread.run_sync(self.registry.check, root.path)
        if reason is not None:
            await self._lose(root, reason, tg)
            return
        facts = await anyio.to_thread.run_sync(self.registry.record, root.path)
        was_unavailable = root.state == RootState.UNAVAILABLE or self.registry.marked_unavailable(root.path)
        root.mark_available(network=facts.network, fstype=facts.fstype)
        if not root.network:
            await self._start_watcher(root)
        if was_unavailable:
            tg.start_soon(self._mark, root.path, True)
        self._work.request_scan(root.path, root.path)

    async def _start_watcher(self, root: MonitoredRoot) -> None:
        watcher = RootWatcher(root.path, self._inbox.deliver, self._observer_factory)
        try:
            await anyio.to_thread.run_sync(watcher.start)
        except OSError as exc:
            reason, fix = explain_os_error(exc)
            root.mark_watch_failed(reason, fix, self._clock())
            log.warning("watch.failed", root=root.path, error=str(exc), fix=fix)
            return
        root.mark_watching(watcher)

    async def _lose(self, root: MonitoredRoot, reason: str, tg: TaskGroup) -> None:
        """The root went away: stop watching, keep its photos, mark them unavailable."""
        watcher = root.take_watcher()
        if watcher is not None:
            await anyio.to_thread.run_sync(watcher.stop)
        known = self._settler.forget_under(root.path)
        self._work.drop_scans(root.path)
        root.mark_missing(reason)
        self._work.changed()
        log.warning("roots.unavailable", root=root.path, reason=reason, dropped_pending=known)
        if self._pipeline.state.count_under(root.path):
            tg.start_soon(self._mark, root.path, False)

    async def _mark(self, root: str, available: bool) -> None:
        await self._gate.wait_writable()
        async with self._marking:
            if not available:
                self.registry.set_marked_unavailable(root, True)  # first: a crash half-way is repaired at start
            await mark_availability(self._pipeline.writer, root, available)
            if available:
                self.registry.set_marked_unavailable(root, False)

    def stop_watchers(self) -> None:
        """Blocking: call off the loop."""
        for root in self.roots.values():
            if root.watcher is not None:
                root.watcher.stop()

    # -- questions from the other parts -------------------------------------------------
    def locate(self, folder: str) -> tuple[str, str]:
        """``folder`` canonical, and the root it is in; NOT_FOUND when it is in none."""
        canonical = canonical_root(folder)
        root = next((r for r in self.roots if within(canonical, r)), None)
        if root is None:
            raise PhotoindexError(f"{folder} is not inside a watched folder", code=ErrorCode.NOT_FOUND)
        return canonical, root

    def available(self, root: str) -> bool:
        """Safe to delete photos of ``root`` whose files are gone: it is there (looked at now if local)."""
        known_root = self.roots.get(root)
        if known_root is None or known_root.state == RootState.UNAVAILABLE:
            return False
        # A network root is judged by the health check's last look: a dead server must not hang the loop.
        return known_root.network or self.registry.check(root) is None

    def young_s(self, root: MonitoredRoot) -> float:
        """How recent a change a scan of ``root`` leaves to settle rather than trusts."""
        return self._watch.network_settle_s if root.network else self._watch.settle_s

    def settle_young(self, facts: FileFacts) -> None:
        """A scan found a file changed moments ago: let it settle (network roots: rescan its folder later)."""
        now = self._clock()
        if self.roots[facts.root].network:
            folder = os.path.dirname(facts.path)
            self._settler.rescan_later(folder, facts.root, now, self._watch.network_settle_s)
        else:
            self._settler.written(facts.path, facts.root, now)
        self._work.settle_wake.set()

    def rescan_available(self) -> None:
        """Scan every root that is there (after a time in which changes went unrecorded)."""
        for root in self.roots.values():
            if root.state != RootState.UNAVAILABLE:
                self._work.request_scan(root.path, root.path)

    # -- scan schedule -----------------------------------------------------------------
    def request_due_scans(self, now: float) -> None:
        for root in self.roots.values():
            if root.state != RootState.UNAVAILABLE and now >= root.next_scan_at:
                self._work.request_scan(root.path, root.path)

    def next_scan_at(self) -> float:
        return min((r.next_scan_at for r in self.roots.values()), default=float("inf"))

    def root_scanned(self, root: MonitoredRoot, result: ScanResult) -> None:
        """Schedule the next scan of the root, with jitter so that roots do not scan in step."""
        watch = self._watch
        interval = (
            watch.network_rescan_interval_s
            if (root.network or root.state != RootState.WATCHING)
            else watch.rescan_interval_s
        )
        next_at = (
            self._clock() + interval * random.uniform(1 - RESCAN_JITTER, 1 + RESCAN_JITTER)
            if interval > 0
            else float("inf")
        )
        root.scanned(result, next_at)

    # -- health ------------------------------------------------------------------------
    async def keep_checking(self, tg: TaskGroup) -> None:
        while True:
            await anyio.sleep(HEALTH_EVERY_S)
            await self.check_health(tg)

    async def check_health(self, tg: TaskGroup) -> None:
        """Lose roots that went away, bring back those that returned, restart dead watchers."""
        reasons = await self._check_roots()
        now = self._clock()
        for root in list(self.roots.values()):
            reason = reasons.get(root.path)
            if reason is not None and root.state != RootState.UNAVAILABLE:
                await self._lose(root, reason, tg)
            elif reason is None and root.state == RootState.UNAVAILABLE:
                log.info("roots.available_again", root=root.path)
                await self.bring_up(root, tg)
            elif root.watcher is not None and not root.watcher.alive():
                log.warning("watch.observer_died", root=root.path)
                watcher = root.take_watcher()
                assert watcher is not None
                await anyio.to_thread.run_sync(watcher.stop)
                root.mark_watcher_died(now)
                self._work.request_scan(root.path, root.path)
            elif root.watch_retry_due(now):
                await self._start_watcher(root)
                if root.watcher is not None:
                    self._work.request_scan(root.path, root.path)  # events were not seen meanwhile
        for lost in self._inbox.take_lost(self.roots):
            if self.roots[lost].state == RootState.WATCHING:
                self._work.request_scan(lost, lost)
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
                reason = f"only {have} inotify watches for {needed} folders: changes in some go unseen"
                root.mark_short_of_watches(reason, self._clock() + self._watch.network_rescan_interval_s)
            elif not missing:
                root.clear_watch_shortage()


def distinct_roots(roots: list[str]) -> list[str]:
    """Canonical roots, without ones nested in another (the outer one's watcher covers them)."""
    canonical = sorted({canonical_root(r) for r in roots})
    kept: list[str] = []
    for root in canonical:
        if any(within(root, outer) for outer in kept):
            log.warning("roots.nested_skipped", root=root)
            continue
        kept.append(root)
    return kept


__all__ = ["ROOT_CHECK_TIMEOUT_S", "MonitoredRoot", "RootMonitor", "RootState", "distinct_roots"]
