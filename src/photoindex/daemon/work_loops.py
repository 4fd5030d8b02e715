"""The daemon's work loops: watcher events into the settler, settled paths into the pipeline, scans, the pipeline.

Each waits while the disk is short (``ReadOnlyGate``): events and settled
paths queue up, scans stay requested. A write refused for a full disk is
not an error here: the rescan on resume redoes whatever was deferred.
"""

from __future__ import annotations

import os
import time

import anyio
import structlog

from photoindex.daemon.event_inbox import EventInbox
from photoindex.daemon.events import EventRouter
from photoindex.daemon.reconcile import Reconciler
from photoindex.daemon.root_monitor import RootMonitor
from photoindex.daemon.status import RootState
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.indexer.discovery import looks_like_image
from photoindex.indexer.disk.gate import ReadOnlyGate
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.store.guarded import is_disk_full
from photoindex.indexer.summary import IndexSummary

log = structlog.get_logger(__name__)


async def apply_events(
    inbox: EventInbox, monitor: RootMonitor, router: EventRouter, work: WorkTracker, gate: ReadOnlyGate
) -> None:
    """Apply watcher events, in order, to the settler and the index."""
    async for event in inbox.events:
        root = monitor.roots.get(event.root)
        if root is None or root.state == RootState.UNAVAILABLE:
            continue
        await gate.wait_writable()  # events queue up meanwhile; an overflow means a rescan
        try:
            await router.apply(event)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.info("watch.event_deferred", root=event.root, reason=str(exc))  # the resume rescan redoes it
        work.changed()
        work.settle_wake.set()


async def settle_paths(monitor: RootMonitor, work: WorkTracker, gate: ReadOnlyGate) -> None:
    """Hand what the settler finds complete on: files to the pipeline, deletions to the index, rescans."""
    settler = work.settler
    while True:
        deadline = settler.next_deadline()
        await work.settle_wake.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        await gate.wait_writable()  # settled paths stay in the settler while the disk is short
        due = settler.take_due(time.monotonic())
        for folder, root in due.rescans:
            work.request_scan(folder, root)
        if due.gone:
            await work.confirm_gone(due.gone, monitor.available)
        if due.ready:
            ready = await anyio.to_thread.run_sync(_images_only, due.ready)
            for facts in ready:
                await work.submit(facts)
        work.changed()


async def run_scans(monitor: RootMonitor, reconciler: Reconciler, work: WorkTracker, gate: ReadOnlyGate) -> None:
    """Run the requested scans one at a time, and each root's scan when it is due."""
    while True:
        now = time.monotonic()
        monitor.request_due_scans(now)
        if not work.scan_requests:
            next_at = monitor.next_scan_at()
            await work.scan_wake.wait(None if next_at == float("inf") else max(0.0, next_at - now))
            continue
        await gate.wait_writable()  # scans stay queued while the disk is short
        scan = work.start_scan()
        if scan is None:
            continue
        folder, root_path = scan
        root = monitor.roots[root_path]
        try:
            result = await reconciler.scan(folder, root_path, young_s=monitor.young_s(root))
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.info("reconcile.deferred", folder=folder, reason=str(exc))
            work.request_scan(folder, root_path)  # again once there is room
            continue
        finally:
            work.scan_ended()
        if folder == root_path:
            monitor.root_scanned(root, result)
        if not work.root_scans_waiting():
            work.phase.root_scans_done()
        work.changed()
        work.settle_wake.set()


class PipelineLoop:
    """Runs the pipeline over the work queue for the daemon's lifetime; a stage that fails restarts it."""

    def __init__(self, pipeline: IndexPipeline, work: WorkTracker, monitor: RootMonitor, summary: IndexSummary) -> None:
        self._pipeline = pipeline
        self._work = work
        self._monitor = monitor
        self._summary = summary
        self.ok = True  # False while a failed pipeline waits to restart

    async def run(self) -> None:
        backoff = 1.0
        while True:
            try:
                await self._pipeline.process(self._work.queue(), self._summary)
                return  # the queue closed: shutting down
            except Exception as exc:  # a bug in a stage: restart it rather than die, and rescan
                self.ok = False
                log.exception("daemon.pipeline_failed", error=str(exc), retry_in_s=backoff)
                self._work.pipeline_failed()
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 300.0)
                self._monitor.rescan_available()
                self.ok = True


def _images_only(files: list[FileFacts]) -> list[FileFacts]:
    return [f for f in files if looks_like_image(f.path, os.path.basename(f.path))]


__all__ = ["PipelineLoop", "apply_events", "run_scans", "settle_paths"]
