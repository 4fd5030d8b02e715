"""Watch one library root with a watchdog observer and hand its events to the event loop.

Each root gets its own observer (on Linux an inotify instance of its own), so
one root's failure never blinds the others. The observer's thread turns
watchdog events into small ``FsEvent`` records, drops the noise (folder
"modified", opens, closes without a write) and passes the rest to
``deliver``, which the daemon points at a bounded memory stream through
``anyio.from_thread``. Everything here is a hint: a missed or dropped event
is repaired by the next scan.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver

log = structlog.get_logger(__name__)


class FsKind(StrEnum):
    """What happened to a path (the values are what the event log and tests see)."""

    CREATED = "created"
    WRITTEN = "written"
    CLOSED = "closed"
    DELETED = "deleted"
    MOVED = "moved"
    DIR_CREATED = "dir_created"
    DIR_DELETED = "dir_deleted"
    DIR_MOVED = "dir_moved"


# (watchdog event type, is a directory) → our kind; anything else is noise.
_KINDS = {
    ("created", False): FsKind.CREATED,
    ("modified", False): FsKind.WRITTEN,
    ("attrib", False): FsKind.WRITTEN,
    ("closed", False): FsKind.CLOSED,
    ("deleted", False): FsKind.DELETED,
    ("moved", False): FsKind.MOVED,
    ("created", True): FsKind.DIR_CREATED,
    ("deleted", True): FsKind.DIR_DELETED,
    ("moved", True): FsKind.DIR_MOVED,
}

# What to tell a user whose watcher cannot start or keep up.
FIX_WATCHES = (
    "raise the inotify watch limit: sudo sysctl fs.inotify.max_user_watches=524288 "
    "(and put that line in /etc/sysctl.d/90-photoindex.conf to keep it); meanwhile the folder is rescanned"
)
FIX_INSTANCES = (
    "raise the inotify instance limit: sudo sysctl fs.inotify.max_user_instances=512 "
    "(and put that line in /etc/sysctl.d/90-photoindex.conf to keep it); meanwhile the folder is rescanned"
)


class FsEvent(NamedTuple):
    """One change below a root."""

    kind: FsKind
    path: str
    root: str
    dest: str = ""


ObserverFactory = Callable[[], BaseObserver]


def default_observer() -> BaseObserver:
    """The platform's native observer (inotify on Linux, FSEvents on macOS)."""
    from watchdog.observers import Observer

    return Observer()


def observer_mode(observer: BaseObserver | None) -> str:
    name = type(observer).__name__.lower() if observer is not None else ""
    for mode in ("inotify", "fsevents", "kqueue", "polling", "windows"):
        if mode in name:
            return mode
    return name.removesuffix("observer") or "watch"


def explain_os_error(exc: OSError) -> tuple[str, str]:
    """A reason and a fix for an observer that could not start."""
    if exc.errno == errno.ENOSPC:
        return "inotify watch limit reached (ENOSPC): not every folder can be watched", FIX_WATCHES
    if exc.errno == errno.EMFILE:
        return "inotify instance limit reached (EMFILE)", FIX_INSTANCES
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "the folder is missing", "mount or restore it"
    if exc.errno == errno.EACCES:
        return "no permission to watch the folder", "give this user read and execute permission on it"
    return f"cannot watch the folder: {exc.strerror or exc}", "check the folder; it is rescanned meanwhile"


class _Handler(FileSystemEventHandler):
    def __init__(self, root: str, deliver: Callable[[FsEvent], None]) -> None:
        self._root = root
        self._deliver = deliver

    def dispatch(self, event: FileSystemEvent) -> None:
        kind = _KINDS.get((event.event_type, event.is_directory))
        if kind is None:
            return
        path = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        self._deliver(FsEvent(kind, path, self._root, dest))


class RootWatcher:
    """A recursive observer on one root; ``start`` raises OSError when it cannot watch."""

    def __init__(
        self, root: str, deliver: Callable[[FsEvent], None], factory: ObserverFactory = default_observer
    ) -> None:
        self.root = root
        self._deliver = deliver
        self._factory = factory
        self._observer: BaseObserver | None = None

    @property
    def mode(self) -> str:
        return observer_mode(self._observer)

    @property
    def running(self) -> bool:
        return self._observer is not None

    def start(self) -> None:
        """Start watching (blocking: adds a watch per folder; run it in a thread)."""
        observer = self._factory()
        try:
            observer.schedule(_Handler(self.root, self._deliver), self.root, recursive=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # watchdog warns about re-added watches
                observer.start()
        except BaseException:
            _stop(observer)
            raise
        self._observer = observer
        log.info("watch.started", root=self.root, mode=self.mode)

    def alive(self) -> bool:
        """True while the observer thread and every emitter thread run."""
        observer = self._observer
        if observer is None:
            return False
        return observer.is_alive() and all(e.is_alive() for e in observer.emitters)

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            _stop(observer)


def _stop(observer: BaseObserver) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(timeout=5)
    except (OSError, RuntimeError) as exc:  # a thread that died half-way; nothing more to release
        log.debug("watch.stop_failed", error=str(exc))


class OverflowLog(logging.Handler):
    """Counts watchdog's "inotify queue overflowed" warnings: events were lost, a rescan is due.

    watchdog rebuilds its watches after an overflow but tells nobody but its
    logger; this handler is how the daemon hears of it.
    """

    LOGGER = "watchdog.observers.inotify_c"
    NOISY = "watchdog.observers.inotify"  # logs an ERROR for a read racing a normal stop

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._lock_count = threading.Lock()
        self._count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            with self._lock_count:
                self._count += 1

    def take(self) -> int:
        """Overflows since the last call."""
        with self._lock_count:
            count, self._count = self._count, 0
        return count

    def install(self) -> OverflowLog:
        logging.getLogger(self.LOGGER).addHandler(self)
        logging.getLogger(self.NOISY).addFilter(_drop_stop_race)
        return self

    def uninstall(self) -> None:
        logging.getLogger(self.LOGGER).removeHandler(self)
        logging.getLogger(self.NOISY).removeFilter(_drop_stop_race)


def _drop_stop_race(record: logging.LogRecord) -> bool:
    return "called when the thread is inactive" not in record.getMessage()


def inotify_watch_count() -> int | None:
    """Watches held by this process's inotify instances (from /proc/self/fdinfo); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    total = 0
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii", errors="replace") as info:
                total += sum(1 for line in info if line.startswith("inotify wd:"))
        except OSError:
            continue  # closed meanwhile
    return total


def inotify_limits() -> dict[str, int]:
    """The kernel's inotify limits, for status and messages."""
    limits: dict[str, int] = {}
    for name in ("max_user_watches", "max_user_instances", "max_queued_events"):
        try:
            with open(f"/proc/sys/fs/inotify/{name}", encoding="ascii") as handle:
                limits[name] = int(handle.read().strip())
        except (OSError, ValueError):
            continue
    return limits


__all__ = [
    "FIX_INSTANCES",
    "FIX_WATCHES",
    "FsEvent",
    "ObserverFactory",
    "OverflowLog",
    "RootWatcher",
    "default_observer",
    "explain_os_error",
    "inotify_limits",
    "inotify_watch_count",
]
