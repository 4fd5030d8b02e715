"""The daemon's work in hand: files in the pipeline, moves being re-pointed, files to look at again, scans waiting.

A path is never in the pipeline twice at once, nor in the pipeline while a
move to or from it is re-pointed: every move and every file goes through
here, and a file handed on again while its path is held (changed again, or
reported deleted) is noted and looked at once the pipeline or the move is
done with it. A move whose old or new path is in the pipeline is not
re-pointed at all; the caller treats it as a deletion plus a new file. Scan requests collapse: a folder inside
one already waiting is not queued again, and a folder replaces the waiting
scans inside it. The tracker also says whether the daemon is busy, and moves
the daemon's state (``DaemonPhase``) whenever the answer may have changed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from photoindex.daemon.phase import DaemonPhase
from photoindex.daemon.settle import Settler
from photoindex.indexer.discovery import within
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.store.guarded import is_disk_full
from photoindex.indexer.summary import IndexSummary

log = structlog.get_logger(__name__)

# Files waiting for the pipeline (it holds a few batches more inside).
WORK_QUEUE = 256


@dataclass
class Wakeup:
    """An edge-triggered wake-up for one waiting task."""

    event: anyio.Event = field(default_factory=anyio.Event)

    def set(self) -> None:
        self.event.set()

    async def wait(self, timeout: float | None) -> None:
        with anyio.move_on_after(timeout):
            await self.event.wait()
        self.event = anyio.Event()


class WorkTracker:
    """In-flight paths, paths to look at again, scan requests, and deletions waiting to be confirmed."""

    def __init__(
        self,
        pipeline: IndexPipeline,
        settler: Settler,
        summary: IndexSummary,
        phase: DaemonPhase,
        *,
        wait_writable: Callable[[], Awaitable[None]],
        queue_size: int = WORK_QUEUE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pipeline = pipeline
        self.settler = settler
        self.summary = summary
        self.phase = phase
        self._wait_writable = wait_writable
        self._clock = clock
        self._send, self._recv = anyio.create_memory_object_stream[FileFacts](queue_size)
        self.in_flight: set[str] = set()
        self._repointing: set[str] = set()  # old and new paths of the moves being written
        self._again: dict[str, str] = {}  # path → root: changed again while in the pipeline
        self.scan_requests: dict[str, str] = {}  # folder → root
        self.scanning = False  # a reconcile scan is running
        self.settled_total = 0
        self.settle_wake = Wakeup()
        self.scan_wake = Wakeup()
        self._last_activity = clock()

    # -- busy or not ---------------------------------------------------------------
    def busy(self) -> bool:
        """Anything to do besides idle work: settling paths, files in the pipeline, scans."""
        return bool(
            len(self.settler)
            or self.in_flight
            or self._repointing
            or self.scan_requests
            or self.scanning
            or self._again
        )

    def idle_seconds(self) -> float:
        """Seconds since the daemon last had something to do (0 while it has)."""
        if self.busy():
            self._last_activity = self._clock()
            return 0.0
        return self._clock() - self._last_activity

    @property
    def queued(self) -> int:
        """Files handed to the pipeline and not settled yet (with those to look at again)."""
        return len(self.in_flight) + len(self._again)

    def changed(self) -> None:
        """Work came or went (here or in the settler): move the daemon between idle and indexing."""
        self.phase.work_changed(busy=self.busy())

    def holds(self, path: str) -> bool:
        """Whether ``path`` is in the pipeline or in a move being re-pointed (then nothing else writes it)."""
        return path in self.in_flight or path in self._repointing

    # -- the pipeline ----------------------------------------------------------------
    def queue(self) -> MemoryObjectReceiveStream[FileFacts]:
        """A receiving end of the work queue for the pipeline."""
        return self._recv.clone()

    async def submit(self, facts: FileFacts) -> None:
        """Hand a file to the pipeline, unless it is there already (then it is looked at again after)."""
        await self._wait_writable()  # nothing new enters the pipeline while the disk is short
        if self.holds(facts.path):
            self._again[facts.path] = facts.root
            return
        self.in_flight.add(facts.path)
        self.changed()
        await self._send.send(facts)

    def file_done(self, path: str) -> None:
        """The pipeline settled ``path``: look at it again if it changed meanwhile."""
        self._last_activity = self._clock()
        self.in_flight.discard(path)
        self._look_again(path)
        self.changed()

    def _look_again(self, path: str) -> None:
        root = self._again.pop(path, None)
        if root is not None:
            self.settler.arrived(path, root, self._clock())
            self.settle_wake.set()

    def count_settled(self, n: int) -> None:
        self.settled_total += n

    def pipeline_failed(self) -> None:
        """The pipeline restarts empty: whatever was in it is found again by rescans."""
        self.in_flight.clear()
        self._again.clear()
        self.changed()

    # -- moves -----------------------------------------------------------------------
    async def repoint(self, moves: Sequence[tuple[str, FileFacts]]) -> list[str]:
        """Re-point moved files (old path, facts at the new path); returns the old paths that were not.

        A move with either path held is left out (returned). The paths of the others are
        held while their points are written, so a file handed on or a deletion settled for
        one of them meanwhile waits for the write and is looked at again after it.
        """
        await self._wait_writable()  # nothing new is written while the disk is short
        free = [(old, facts) for old, facts in moves if not self.holds(old) and not self.holds(facts.path)]
        taken = {old for old, _facts in free}
        missed = [old for old, _facts in moves if old not in taken]
        if not free:
            return missed
        held = {path for old, facts in free for path in (old, facts.path)}
        self._repointing |= held
        self.changed()
        try:
            missed += await self._pipeline.repoint(free, self.summary)
        finally:
            self._repointing -= held
            for path in held:
                self._look_again(path)
            self.changed()
        return missed

    # -- scans -----------------------------------------------------------------------
    def request_scan(self, folder: str, root: str) -> None:
        if any(within(folder, f) and r == root for f, r in self.scan_requests.items()):
            return  # a scan of an enclosing folder is already waiting
        for inner in [f for f, r in self.scan_requests.items() if r == root and within(f, folder)]:
            del self.scan_requests[inner]
        self.scan_requests[folder] = root
        self.scan_wake.set()
        self.changed()

    def drop_scans(self, root: str) -> None:
        """Forget the waiting scans of ``root`` (no longer watched, or gone)."""
        for folder in [f for f, r in self.scan_requests.items() if r == root]:
            del self.scan_requests[folder]

    def start_scan(self) -> tuple[str, str] | None:
        """The next scan to run, as (folder, root), now marked running; None when none waits."""
        if not self.scan_requests:
            return None
        folder, root = next(iter(self.scan_requests.items()))
        del self.scan_requests[folder]
        self.scanning = True
        return folder, root

    def scan_ended(self) -> None:
        self.scanning = False
        self._last_activity = self._clock()

    def root_scans_waiting(self) -> bool:
        """A scan of a whole root is still waiting."""
        return any(r == f for f, r in self.scan_requests.items())

    # -- deletions -------------------------------------------------------------------
    async def confirm_gone(self, gone: list[tuple[str, str]], available: Callable[[str], bool]) -> None:
        """Remove the settled deletions from the index; a path in flight is looked at again after."""
        self._last_activity = self._clock()
        state = self._pipeline.state
        removable: list[str] = []
        for path, root in gone:
            if self.holds(path):
                self._again[path] = root  # look again once the pipeline (or the move) is done with it
            elif path in state:
                removable.append(path)
        by_root: dict[str, list[str]] = {}
        for path in removable:
            by_root.setdefault(state[path].root, []).append(path)
        for root, paths in by_root.items():
            if available(root):
                try:
                    await self._pipeline.remove_paths(paths, self.summary)
                except Exception as exc:
                    if not is_disk_full(exc):
                        raise
                    log.info("watch.removal_deferred", root=root, reason=str(exc))  # the resume rescan redoes it


__all__ = ["WORK_QUEUE", "Wakeup", "WorkTracker"]
