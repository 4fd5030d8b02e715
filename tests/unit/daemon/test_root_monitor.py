"""Root lifecycles on real folders: up, watched, missing and back, watchers failing and restarted.

Real parts throughout (registry, settler, work tracker, an in-memory index,
watchdog's polling observer); only the monotonic clock is fake, so retries
and scan schedules are checked without waiting for them.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from anyio.abc import TaskGroup
from tests.unit.daemon.index_on_disk import open_pipeline, put_photo, store_of
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from photoindex.config import WatchSettings
from photoindex.daemon.event_inbox import EventInbox
from photoindex.daemon.monitored_root import WATCH_RETRY_S, MonitoredRoot
from photoindex.daemon.phase import DaemonPhase
from photoindex.daemon.reconcile import ScanResult
from photoindex.daemon.root_monitor import RootMonitor
from photoindex.daemon.roots import FIX_MISSING, RootRegistry
from photoindex.daemon.settle import Settler
from photoindex.daemon.status import RootState
from photoindex.daemon.watcher import FIX_WATCHES, FsEvent
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.indexer.disk.gate import ReadOnlyGate
from photoindex.indexer.disk.space import DiskSpace
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.summary import IndexSummary

pytestmark = pytest.mark.anyio

WATCH = WatchSettings(rescan_interval_s=100.0, network_rescan_interval_s=10.0)


class Observers:
    """Polling observers, or ones that cannot start (as when inotify is out of watches)."""

    def __init__(self) -> None:
        self.made: list[BaseObserver] = []
        self.failing = False

    def __call__(self) -> BaseObserver:
        observer = _FullObserver() if self.failing else PollingObserver(timeout=0.1)
        self.made.append(observer)
        return observer


class _FullObserver(PollingObserver):
    def schedule(self, *args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")


@dataclass
class Setup:
    monitor: RootMonitor
    work: WorkTracker
    pipeline: IndexPipeline
    inbox: EventInbox
    observers: Observers
    clock: list[float]
    tg: TaskGroup


@asynccontextmanager
async def monitoring(tmp_path: Path, roots: list[Path], *, inbox_size: int = 64) -> AsyncIterator[Setup]:
    clock = [0.0]
    now: Callable[[], float] = lambda: clock[0]  # noqa: E731
    observers = Observers()
    with open_pipeline(tmp_path) as pipeline:
        gate = ReadOnlyGate(DiskSpace([tmp_path], min_free_mb=0), None, store_dir=None)
        settler = Settler(settle_s=1.0, max_delay_s=10.0, max_pending=1000)
        work = WorkTracker(
            pipeline, settler, IndexSummary(), DaemonPhase(), wait_writable=gate.wait_writable, clock=now
        )
        inbox = EventInbox(inbox_size)
        inbox.open()
        state_dir = tmp_path / "state"
        state_dir.mkdir(exist_ok=True)
        monitor = RootMonitor(
            [str(r) for r in roots],
            registry=RootRegistry(state_dir),
            work=work,
            pipeline=pipeline,
            gate=gate,
            inbox=inbox,
            observer_factory=observers,
            watch=WATCH,
            clock=now,
        )
        try:
            async with anyio.create_task_group() as tg:
                yield Setup(monitor, work, pipeline, inbox, observers, clock, tg)
        finally:
            await anyio.to_thread.run_sync(monitor.stop_watchers)
            inbox.close()


def library(tmp_path: Path, name: str = "lib") -> Path:
    root = tmp_path / name
    root.mkdir()
    return root


async def test_a_root_comes_up_watched_and_is_scanned(tmp_path: Path) -> None:
    root = library(tmp_path)
    async with monitoring(tmp_path, [root]) as s:
        lib = s.monitor.roots[str(root)]
        await s.monitor.bring_up(lib, s.tg)
        assert (lib.state, lib.mode, lib.degraded, lib.reason) == (RootState.WATCHING, "polling", False, None)
        assert s.work.scan_requests == {str(root): str(root)}
        assert s.monitor.available(str(root)) and not s.monitor.available(str(tmp_path / "other"))


async def test_a_missing_root_keeps_its_photos_marked_unavailable_until_it_returns(tmp_path: Path) -> None:
    root = library(tmp_path)
    async with monitoring(tmp_path, [root]) as s:
        known = put_photo(s.pipeline, root / "a.jpg", root)
        lib = s.monitor.roots[str(root)]
        await s.monitor.bring_up(lib, s.tg)
        s.work.settler.written(str(root / "b.jpg"), str(root), 0.0)
        shutil.rmtree(root)
        assert not s.monitor.available(str(root))  # a local root is looked at when asked
        await s.monitor.check_health(s.tg)
        assert (lib.state, lib.fix, lib.degraded, lib.watcher) == (RootState.UNAVAILABLE, FIX_MISSING, True, None)
        assert lib.reason is not None and "missing" in lib.reason
        assert len(s.work.settler) == 0 and s.work.scan_requests == {}
        await wait_for(lambda: s.monitor.registry.marked_unavailable(str(root)))
        assert store_of(s.pipeline).retrieve([known.point_id])[0].payload.available is False
        assert known.path in s.pipeline.state

        root.mkdir()
        await s.monitor.check_health(s.tg)
        assert lib.state == RootState.WATCHING and not lib.degraded
        assert s.work.scan_requests == {str(root): str(root)}
        await wait_for(lambda: not s.monitor.registry.marked_unavailable(str(root)))
        assert store_of(s.pipeline).retrieve([known.point_id])[0].payload.available is True


async def wait_for(condition: Callable[[], bool]) -> None:
    """For the marking task the monitor started: it runs as soon as the test yields."""
    with anyio.fail_after(10):
        while not condition():
            await anyio.sleep(0.01)


async def test_a_watcher_that_cannot_start_is_retried_with_back_off(tmp_path: Path) -> None:
    root = library(tmp_path)
    async with monitoring(tmp_path, [root]) as s:
        s.observers.failing = True
        lib = s.monitor.roots[str(root)]
        await s.monitor.bring_up(lib, s.tg)
        assert (lib.state, lib.mode, lib.degraded, lib.fix) == (RootState.SCANNING, "scan", True, FIX_WATCHES)
        assert (lib.retry_at, lib.retry_s) == (WATCH_RETRY_S, 2 * WATCH_RETRY_S)
        s.work.start_scan()  # the first scan is under way

        s.clock[0] = WATCH_RETRY_S - 1
        await s.monitor.check_health(s.tg)
        assert len(s.observers.made) == 1  # not yet

        s.clock[0] = WATCH_RETRY_S
        await s.monitor.check_health(s.tg)
        assert len(s.observers.made) == 2 and lib.state == RootState.SCANNING
        assert lib.retry_at == WATCH_RETRY_S + 2 * WATCH_RETRY_S and lib.retry_s == 4 * WATCH_RETRY_S

        s.observers.failing = False
        s.clock[0] = lib.retry_at
        await s.monitor.check_health(s.tg)
        assert (lib.state, lib.degraded, lib.retry_s) == (RootState.WATCHING, False, WATCH_RETRY_S)
        assert s.work.scan_requests == {str(root): str(root)}  # events were missed meanwhile


async def test_a_watcher_whose_thread_died_is_restarted_and_its_root_rescanned(tmp_path: Path) -> None:
    root = library(tmp_path)
    async with monitoring(tmp_path, [root]) as s:
        lib = s.monitor.roots[str(root)]
        await s.monitor.bring_up(lib, s.tg)
        s.work.start_scan()
        dead = s.observers.made[-1]
        dead.stop()
        await anyio.to_thread.run_sync(dead.join)
        await s.monitor.check_health(s.tg)
        assert (lib.state, lib.watcher, lib.degraded) == (RootState.SCANNING, None, True)
        assert lib.reason == "the watcher thread stopped" and s.work.scan_requests == {str(root): str(root)}
        await s.monitor.check_health(s.tg)
        assert lib.state == RootState.WATCHING and lib.watcher is not None and lib.watcher.alive()


async def test_events_lost_on_the_way_to_the_loop_rescan_their_root(tmp_path: Path) -> None:
    root = library(tmp_path)
    async with monitoring(tmp_path, [root], inbox_size=0) as s:
        lib = s.monitor.roots[str(root)]
        await s.monitor.bring_up(lib, s.tg)
        s.work.start_scan()
        await anyio.to_thread.run_sync(s.inbox.deliver, FsEvent("written", str(root / "a.jpg"), str(root)))
        await s.monitor.check_health(s.tg)
        assert s.work.scan_requests == {str(root): str(root)}
        s.work.start_scan()
        await s.monitor.check_health(s.tg)
        assert s.work.scan_requests == {}  # noted once


async def test_changing_the_watched_folders_adds_and_drops_roots(tmp_path: Path) -> None:
    old, new = library(tmp_path, "old"), library(tmp_path, "new")
    (new / "inner").mkdir()
    async with monitoring(tmp_path, [old]) as s:
        await s.monitor.bring_up(s.monitor.roots[str(old)], s.tg)
        s.work.settler.written(str(old / "a.jpg"), str(old), 0.0)
        await s.monitor.set_paths((str(new), str(new / "inner")), s.tg)  # the inner one is covered already
        assert list(s.monitor.roots) == [str(new)]
        assert s.monitor.roots[str(new)].state == RootState.WATCHING
        assert s.work.scan_requests == {str(new): str(new)} and len(s.work.settler) == 0
        assert s.monitor.locate(str(new / "inner")) == (str(new / "inner"), str(new))
        with pytest.raises(PhotoindexError) as raised:
            s.monitor.locate(str(old))
        assert raised.value.code == ErrorCode.NOT_FOUND


async def test_a_young_file_settles_on_a_local_root_and_its_folder_is_rescanned_on_a_network_one(
    tmp_path: Path,
) -> None:
    local, remote = library(tmp_path, "local"), library(tmp_path, "remote")
    async with monitoring(tmp_path, [local, remote]) as s:
        s.monitor.roots[str(remote)].mark_available(network=True, fstype="nfs4")
        s.monitor.settle_young(FileFacts(path=str(local / "a.jpg"), root=str(local), size=1, mtime_ns=0, inode=1))
        s.monitor.settle_young(
            FileFacts(path=str(remote / "d" / "b.jpg"), root=str(remote), size=1, mtime_ns=0, inode=2)
        )
        assert s.work.settler.pending(str(local / "a.jpg"))
        due = s.work.settler.take_due(WATCH.network_settle_s)
        assert due.rescans == [(str(remote / "d"), str(remote))]
        assert s.monitor.young_s(s.monitor.roots[str(remote)]) == WATCH.network_settle_s
        assert s.monitor.young_s(s.monitor.roots[str(local)]) == WATCH.settle_s


async def test_root_scans_are_rescheduled_with_jitter_by_how_the_root_is_followed(tmp_path: Path) -> None:
    watched, scanned = library(tmp_path, "watched"), library(tmp_path, "scanned")
    async with monitoring(tmp_path, [watched, scanned]) as s:
        await s.monitor.bring_up(s.monitor.roots[str(watched)], s.tg)
        s.work.start_scan()
        s.clock[0] = 1000.0
        complete = ScanResult(folder=str(watched), root=str(watched), folders={"a", "b"})
        s.monitor.root_scanned(s.monitor.roots[str(watched)], complete)
        s.monitor.root_scanned(s.monitor.roots[str(scanned)], ScanResult(str(scanned), str(scanned), complete=False))
        w, n = s.monitor.roots[str(watched)], s.monitor.roots[str(scanned)]
        assert 1090.0 <= w.next_scan_at <= 1110.0 and (w.last_scan, w.folders) == (complete, 2)
        assert 1009.0 <= n.next_scan_at <= 1011.0 and n.last_scan is None  # incomplete: not reported
        assert s.monitor.next_scan_at() == n.next_scan_at
        s.clock[0] = n.next_scan_at
        s.monitor.request_due_scans(s.clock[0])
        assert s.work.scan_requests == {str(scanned): str(scanned)}


def test_root_transitions() -> None:
    root = MonitoredRoot("/lib")
    assert (root.state, root.mode) == (RootState.STARTING, "scan")
    root.mark_available(network=True, fstype="nfs4")
    assert (root.state, root.degraded, root.fstype) == (RootState.SCANNING, False, "nfs4")
    assert root.reason is not None and "network" in root.reason and not root.watch_retry_due(1e9)
    root.mark_available(network=False, fstype="ext4")
    assert (root.reason, root.fix) == (None, None) and root.watch_retry_due(0.0)
    for _ in range(10):
        root.mark_watch_failed("full", "fix it", 5.0)
    assert root.retry_s == 600.0 and root.degraded and not root.watch_retry_due(6.0)
    root.mark_missing("gone")
    assert (root.state, root.reason, root.fix, root.degraded) == (RootState.UNAVAILABLE, "gone", FIX_MISSING, True)
    root.mark_watcher_died(7.0)
    assert (root.state, root.retry_at) == (RootState.SCANNING, 7.0)


def test_a_shortage_of_inotify_watches_is_reported_and_cleared() -> None:
    root = MonitoredRoot("/lib", state=RootState.WATCHING, next_scan_at=5000.0)
    root.mark_short_of_watches("only 10 inotify watches for 20 folders", 400.0)
    assert (root.degraded, root.fix, root.next_scan_at) == (True, FIX_WATCHES, 400.0)
    root.clear_watch_shortage()
    assert (root.degraded, root.reason, root.fix) == (False, None, None)
    root.mark_missing("gone")
    root.clear_watch_shortage()  # another problem stays
    assert root.degraded and root.reason == "gone"
