"""What the running daemon is doing: the ``DaemonStatus`` record, its file, and a rate meter.

The daemon builds a ``DaemonStatus`` on demand (``StatusProvider``): the
query API serves it at ``/api/v1/status``, and once a second it is written
atomically to ``<state dir>/status.json``, where ``photoindex status`` reads
it without disturbing the daemon. The file of a daemon that is gone is
ignored: only a file whose writer still holds the owner lock counts.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Literal

import msgspec

from photoindex.daemon.lock import running_pid

STATUS_FILE = "status.json"
# A status file not rewritten for this long belongs to a daemon that is stuck (or stopped).
STALE_AFTER_S = 15.0


class DaemonState(StrEnum):
    """What the daemon as a whole is doing (the values are the status file's words)."""

    STARTING = "starting"
    SCANNING = "scanning"  # the first reconcile scans after start-up
    INDEXING = "indexing"
    IDLE = "idle"
    STOPPING = "stopping"


class RootState(StrEnum):
    """How a library root is followed (the values are the status file's words)."""

    STARTING = "starting"  # not looked at yet
    WATCHING = "watching"  # a watcher reports its changes
    SCANNING = "scanning"  # there, but no watcher: only rescans see its changes
    UNAVAILABLE = "unavailable"  # missing or unreadable: its photos are kept, marked unavailable


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """Why the daemon is degraded, and what fixes it."""

    where: str  # a root, "models", "store", ...
    reason: str
    fix: str


class WatchedRoot(msgspec.Struct, frozen=True, kw_only=True):
    """One library root as the daemon sees it."""

    path: str
    state: RootState
    mode: str  # inotify, fsevents, ... or "scan"
    filesystem: str
    photos: int  # files of this root in the index
    reason: str | None = None
    fix: str | None = None
    last_scan_at: str | None = None
    last_scan_seconds: float | None = None
    next_scan_in_seconds: float | None = None


class QueueStatus(msgspec.Struct, frozen=True, kw_only=True):
    settling: int  # paths (and folders) waiting to be complete
    queued: int  # files handed to the pipeline and not settled yet
    rescans: int  # folder scans waiting to run
    scanning: bool  # a reconcile scan is running


class ModelStatus(msgspec.Struct, frozen=True, kw_only=True):
    embedder: Literal["loaded", "unloaded", "failed"]
    captioner: Literal["loaded", "unloaded", "failed", "off"]
    error: str | None = None
    idle_unload_seconds: float
    unloads: int


class DaemonStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The daemon's state, health, queue and counters (also ``GET /api/v1/status``)."""

    state: DaemonState
    health: Literal["ok", "degraded"]
    problems: list[Problem]
    pid: int
    version: str
    started_at: str
    updated_at: str
    uptime_seconds: float
    queue: QueueStatus
    rate_per_second: float  # files settled per second over the last minute
    eta_seconds: float | None  # queue / rate, when both are known
    photos: dict[str, int]  # indexed / pending / failed, as the index holds them now
    failures_by_code: dict[str, int]
    captions_pending: int | None
    since_start: dict[str, int]  # what this run did: indexed, reused, moved, deleted, ...
    models: ModelStatus
    watchers: list[WatchedRoot]
    collection: str
    api_url: str | None = None
    read_only: bool = False  # the disk is short: nothing is written (see problems); searches go on


StatusProvider = Callable[[], DaemonStatus]


class RateMeter:
    """Events per second over a sliding window, from a running total sampled now and then."""

    def __init__(self, window_s: float = 60.0) -> None:
        self._window = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, total: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        first_t, first_total = self._samples[0]
        elapsed = now - first_t
        return (total - first_total) / elapsed if elapsed > 0 else 0.0


def write_status(state_dir: Path, status: DaemonStatus) -> None:
    """Replace the status file atomically: a reader sees the old file or the new one, never half."""
    data = msgspec.json.format(msgspec.json.encode(status), indent=2)
    fd, temp = tempfile.mkstemp(dir=state_dir, prefix=".status.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, state_dir / STATUS_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_status(state_dir: Path) -> tuple[DaemonStatus | None, str | None]:
    """The running daemon's last status, or None and why there is none."""
    pid = running_pid(state_dir)
    if pid is None:
        return None, "photoindex is not running (start it with `photoindex serve` or `photoindex service install`)"
    try:
        raw = (state_dir / STATUS_FILE).read_bytes()
        status = msgspec.json.decode(raw, type=DaemonStatus)
    except FileNotFoundError:
        return None, f"photoindex (pid {pid}) is starting; no status yet"
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        return None, f"cannot read the status of photoindex (pid {pid}): {exc}"
    if status.pid != pid:
        return None, f"photoindex (pid {pid}) is starting; no status yet"
    age = time.time() - (state_dir / STATUS_FILE).stat().st_mtime
    if age > STALE_AFTER_S:
        return status, f"the status is {age:.0f} s old: the daemon (pid {pid}) may be stuck"
    return status, None


__all__ = [
    "STATUS_FILE",
    "DaemonState",
    "DaemonStatus",
    "ModelStatus",
    "Problem",
    "QueueStatus",
    "RateMeter",
    "RootState",
    "StatusProvider",
    "WatchedRoot",
    "read_status",
    "write_status",
]
