"""Decide when a changed file is complete enough to index, and when a deletion is final.

Events are hints that a path changed; a path is handed on once it looks
finished:

- a close-after-write (inotify ``IN_CLOSE_WRITE``) or a rename into place was
  followed by ``CLOSE_QUIET_S`` without another event: the writer is done;
- otherwise (no close seen: macOS, a writer still holding the file open,
  a file found young by a scan) it has had no event for ``settle_s`` and its
  mtime is at least that old, or its size and mtime did not move between
  two looks ``settle_s`` apart;
- a ceiling: a file rewritten again and again is still handed on
  ``max_delay_s`` after its first event (ten times that while it has never
  been closed, so a slow writer is not read half-way).

A deletion waits ``DELETE_DELAY_S`` so that a delete-then-rename (editors) or
a move to another root (whose new copy may reuse the vector) settles first.
More than ``max_pending`` paths collapse into folder rescans, so a storm of
events costs memory per folder, not per file. The clock is passed in: the
logic is tested without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import os
import stat as stat_module
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from photoindex.indexer.records import FileFacts

# After a close-after-write, this long without another event means the writer is done.
# Short, because it adds to every file's latency; long enough to merge a close-reopen-append.
CLOSE_QUIET_S = 0.15
# A deletion is confirmed this late: an editor's delete-then-rename puts the file back first.
DELETE_DELAY_S = 1.0
# A file that has never been closed since its first event waits this many max_delay_s at most.
OPEN_CAP_FACTOR = 10


@dataclass
class _Entry:
    root: str
    first_seen: float
    last_event: float
    closed: bool = False  # the latest event was a close-after-write or a rename into place
    closed_once: bool = False  # some complete version was seen since first_seen
    gone: bool = False  # a deletion waiting to be confirmed
    looked: tuple[int, int] | None = None  # (size, mtime_ns) at the previous look
    due: float = 0.0
    scheduled: float = field(default=float("inf"))  # the deadline this entry sits in the heap with


@dataclass(frozen=True)
class Due:
    """What the settler hands on at one moment."""

    ready: list[FileFacts]  # complete files, freshly stat'ed
    gone: list[tuple[str, str]]  # (path, root): deleted paths, or paths found missing when looked at
    rescans: list[tuple[str, str]]  # (folder, root): folders to rescan instead of per-file work


class Settler:
    """Pending paths with their deadlines; not thread-safe (it lives on the event loop)."""

    def __init__(
        self,
        *,
        settle_s: float,
        max_delay_s: float,
        max_pending: int,
        quiet_s: float = CLOSE_QUIET_S,
        delete_delay_s: float = DELETE_DELAY_S,
        follow_symlinks: bool = False,
        stat: Callable[..., os.stat_result] = os.stat,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settle_s = settle_s
        self.max_delay_s = max_delay_s
        self.max_pending = max_pending
        self.quiet_s = quiet_s
        self.delete_delay_s = delete_delay_s
        self._follow = follow_symlinks
        self._stat = stat
        self._wall = wall_clock
        self._entries: dict[str, _Entry] = {}
        self._dirty: dict[str, tuple[str, float]] = {}  # folder → (root, due)
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self.collapses = 0

    # -- what happened -------------------------------------------------------
    def written(self, path: str, root: str, now: float) -> None:
        """Data or metadata changed; the writer may not be done."""
        entry = self._entry(path, root, now)
        if entry is None:
            return
        entry.last_event, entry.closed, entry.gone, entry.looked = now, False, False, None
        self._schedule(path, entry, self._deadline(entry))

    def closed(self, path: str, root: str, now: float) -> None:
        """A close-after-write: one complete version exists, unless writing resumes at once."""
        entry = self._entry(path, root, now)
        if entry is None:
            return
        entry.last_event, entry.closed, entry.closed_once, entry.gone = now, True, True, False
        self._schedule(path, entry, self._deadline(entry))

    def arrived(self, path: str, root: str, now: float) -> None:
        """Renamed into place, or asked to look again: complete as it stands."""
        self.closed(path, root, now)

    def gone(self, path: str, root: str, now: float) -> None:
        """Deleted (or moved away); confirmed after the delete delay."""
        entry = self._entry(path, root, now)
        if entry is None:
            return
        entry.last_event, entry.gone, entry.closed = now, True, False
        self._schedule(path, entry, now + self.delete_delay_s)

    def rescan_later(self, folder: str, root: str, now: float, delay_s: float | None = None) -> None:
        """Look at everything below ``folder`` once it has been quiet a while."""
        due = now + (self.settle_s if delay_s is None else delay_s)
        previous = self._dirty.get(folder)
        # The earlier deadline wins: under a storm that never stops, rescans still happen.
        self._dirty[folder] = (root, min(due, previous[1]) if previous else due)

    def forget(self, path: str) -> bool:
        """Drop a path's pending work; True if there was some."""
        return self._entries.pop(path, None) is not None

    def forget_under(self, folder: str) -> int:
        prefix = folder.rstrip("/") + "/"
        doomed = [p for p in self._entries if p.startswith(prefix)]
        for path in doomed:
            del self._entries[path]
        for dirty in [d for d in self._dirty if d == folder or d.startswith(prefix)]:
            del self._dirty[dirty]
        return len(doomed)

    def pending(self, path: str) -> bool:
        return path in self._entries

    def __len__(self) -> int:
        return len(self._entries) + len(self._dirty)

    # -- what is due ---------------------------------------------------------
    def next_deadline(self) -> float | None:
        while self._heap:
            due, _seq, path = self._heap[0]
            entry = self._entries.get(path)
            if entry is not None and entry.scheduled == due:
                break
            heapq.heappop(self._heap)  # stale: the entry went, or was scheduled earlier
        deadlines = [self._heap[0][0]] if self._heap else []
        deadlines += [due for _root, due in self._dirty.values()]
        return min(deadlines) if deadlines else None

    def take_due(self, now: float) -> Due:
        """Everything whose time has come; files are stat'ed (a few microseconds each, local only)."""
        ready: list[FileFacts] = []
        gone: list[tuple[str, str]] = []
        while self._heap and self._heap[0][0] <= now:
            due, _seq, path = heapq.heappop(self._heap)
            entry = self._entries.get(path)
            if entry is None or entry.scheduled != due:
                continue
            entry.scheduled = float("inf")
            if entry.due > now:
                self._push(path, entry, entry.due)  # events moved it later since it was pushed
                continue
            if entry.gone:
                del self._entries[path]
                gone.append((path, entry.root))
                continue
            self._look(path, entry, now, ready, gone)
        rescans = [(folder, root) for folder, (root, due) in self._dirty.items() if due <= now]
        for folder, _root in rescans:
            del self._dirty[folder]
        return Due(ready, gone, rescans)

    # -- internals -----------------------------------------------------------
    def _look(self, path: str, entry: _Entry, now: float, ready: list[FileFacts], gone: list[tuple[str, str]]) -> None:
        try:
            st = self._stat(path, follow_symlinks=self._follow)
        except OSError:
            del self._entries[path]
            gone.append((path, entry.root))  # it vanished: a removal if it was indexed
            return
        if not stat_module.S_ISREG(st.st_mode):
            del self._entries[path]
            return
        facts = FileFacts.from_stat(path, st, root=entry.root)
        at_ceiling = now >= self._ceiling(entry)
        still = (st.st_size, st.st_mtime_ns) == entry.looked
        old_enough = self._wall() - st.st_mtime_ns / 1e9 >= self.settle_s
        if entry.closed or at_ceiling or still or old_enough:
            del self._entries[path]
            ready.append(facts)
            return
        entry.looked = (st.st_size, st.st_mtime_ns)  # still moving: look again later
        self._schedule(path, entry, min(now + self.settle_s, self._ceiling(entry)))

    def _entry(self, path: str, root: str, now: float) -> _Entry | None:
        entry = self._entries.get(path)
        if entry is not None:
            return entry
        if len(self._entries) >= self.max_pending:
            self._collapse(now)
        entry = _Entry(root=root, first_seen=now, last_event=now)
        self._entries[path] = entry
        return entry

    def _collapse(self, now: float) -> None:
        """Too many paths: remember their folders instead, and rescan those once quiet."""
        for path, entry in self._entries.items():
            self.rescan_later(os.path.dirname(path), entry.root, now)
        self._entries.clear()
        self._heap.clear()
        self.collapses += 1

    def _deadline(self, entry: _Entry) -> float:
        wait = self.quiet_s if entry.closed else self.settle_s
        return min(entry.last_event + wait, self._ceiling(entry))

    def _ceiling(self, entry: _Entry) -> float:
        cap = self.max_delay_s if entry.closed_once else self.max_delay_s * OPEN_CAP_FACTOR
        return entry.first_seen + cap

    def _schedule(self, path: str, entry: _Entry, due: float) -> None:
        entry.due = due
        if due < entry.scheduled:
            self._push(path, entry, due)

    def _push(self, path: str, entry: _Entry, due: float) -> None:
        entry.scheduled = due
        heapq.heappush(self._heap, (due, next(self._seq), path))


__all__ = ["CLOSE_QUIET_S", "DELETE_DELAY_S", "Due", "Settler"]
