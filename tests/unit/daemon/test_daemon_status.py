"""The status file: written atomically, read only while its daemon holds the owner lock."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from photoindex.daemon.lock import OwnerLock
from photoindex.daemon.status import (
    STATUS_FILE,
    DaemonStatus,
    ModelStatus,
    QueueStatus,
    RateMeter,
    WatchedRoot,
    read_status,
    write_status,
)


def sample(pid: int) -> DaemonStatus:
    return DaemonStatus(
        state="idle",
        health="ok",
        problems=[],
        pid=pid,
        version="0",
        started_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:01+00:00",
        uptime_seconds=1.0,
        queue=QueueStatus(settling=0, queued=0, rescans=0, scanning=False),
        rate_per_second=0.0,
        eta_seconds=None,
        photos={"indexed": 1, "pending": 0, "failed": 0},
        failures_by_code={},
        captions_pending=None,
        since_start={"indexed": 1},
        models=ModelStatus(embedder="unloaded", captioner="off", idle_unload_seconds=300, unloads=0),
        watchers=[WatchedRoot(path="/p", state="watching", mode="inotify", filesystem="ext4", photos=1)],
        collection="c",
    )


def test_status_round_trips_only_while_the_daemon_runs(tmp_path: Path) -> None:
    status, why = read_status(tmp_path)
    assert status is None and why is not None and "not running" in why
    with OwnerLock.acquire(tmp_path):
        write_status(tmp_path, sample(os.getpid()))
        status, why = read_status(tmp_path)
        assert status == sample(os.getpid()) and why is None
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".status")] == []  # no temp left
    status, why = read_status(tmp_path)  # the file remains, but nobody holds the lock
    assert status is None and (tmp_path / STATUS_FILE).exists()


def test_a_status_file_from_an_earlier_daemon_is_not_taken_for_the_running_one(tmp_path: Path) -> None:
    (tmp_path / STATUS_FILE).write_bytes(msgspec.json.encode(sample(pid=1)))
    with OwnerLock.acquire(tmp_path):
        status, why = read_status(tmp_path)
    assert status is None and why is not None and "starting" in why


def test_rate_over_a_sliding_window() -> None:
    meter = RateMeter(window_s=10)
    assert meter.sample(0, now=0.0) == 0.0
    assert meter.sample(50, now=5.0) == 10.0
    for t in range(6, 30):
        rate = meter.sample(50, now=float(t))
    assert rate == 0.0  # nothing for longer than the window
