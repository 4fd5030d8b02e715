"""Watcher events on their way from observer threads to the loop, and the roots whose events were lost.

The queue is bounded: an event that does not fit is dropped and its root
noted, to be rescanned instead. Overflows of the kernel's own queue (logged
by watchdog) count as lost events of every root.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import anyio
import anyio.lowlevel
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from photoindex.daemon.watcher import FsEvent, OverflowLog

log = structlog.get_logger(__name__)

# Events waiting for the loop; beyond this they are dropped and the root is rescanned instead.
EVENT_QUEUE = 8192


class EventInbox:
    """Takes events on any thread; the loop reads them in order."""

    def __init__(self, size: int = EVENT_QUEUE) -> None:
        self._send, self._recv = anyio.create_memory_object_stream[FsEvent](size)
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._lost: set[str] = set()  # roots whose events overflowed our queue
        self._closing = False
        self._overflow = OverflowLog()

    def open(self) -> None:
        """On the loop, before any watcher starts."""
        self._token = anyio.lowlevel.current_token()
        self._overflow.install()

    def closing(self) -> None:
        """Shutting down: events from now on are ignored."""
        self._closing = True

    def close(self) -> None:
        self._overflow.uninstall()

    @property
    def events(self) -> MemoryObjectReceiveStream[FsEvent]:
        return self._recv

    def deliver(self, event: FsEvent) -> None:
        """Called on an observer thread: hand the event to the loop, or note that it was lost."""
        if self._closing:
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            anyio.from_thread.run_sync(self._offer, event, token=self._token)

    def _offer(self, event: FsEvent) -> None:
        try:
            self._send.send_nowait(event)
        except anyio.WouldBlock:
            if event.root not in self._lost:
                log.warning("watch.events_dropped", root=event.root, detail="queue full; the root will be rescanned")
            self._lost.add(event.root)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def take_lost(self, roots: Iterable[str]) -> set[str]:
        """The roots (of ``roots``) that lost events since the last call; forgets them."""
        lost = self._lost | (set(roots) if self._overflow.take() else set())
        self._lost.clear()
        return lost


__all__ = ["EVENT_QUEUE", "EventInbox"]
