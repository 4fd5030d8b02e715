"""The status record from its inputs (computing it changes nothing), and the daemon's own state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec

from photoindex.config import ModelSettings
from photoindex.daemon.monitored_root import MonitoredRoot
from photoindex.daemon.phase import DaemonPhase
from photoindex.daemon.reconcile import ScanResult
from photoindex.daemon.status import DaemonState, DaemonStatus, ModelStatus, RootState
from photoindex.daemon.status_report import IndexCounts, StatusInputs, build_status, model_status
from photoindex.indexer.disk.space import Shortage
from photoindex.indexer.models.worker import ModelWorker

STARTED = datetime(2026, 1, 1, tzinfo=UTC)
MODELS = ModelStatus(embedder="loaded", captioner="off", idle_unload_seconds=300.0, unloads=0)


def inputs(**overrides: object) -> StatusInputs:
    base = StatusInputs(
        state=DaemonState.INDEXING,
        roots=[],
        counts=IndexCounts({"indexed": 5, "pending": 1}, {"ERR_DECODE": 2}, {}),
        rate_per_second=2.0,
        settling=3,
        queued=7,
        rescans=1,
        scanning=True,
        models=MODELS,
        shortage=None,
        pipeline_ok=True,
        captions_pending=None,
        places_filled=0,
        since_start={"seen": 9, "indexed": 4, "deleted": 0, "note": "not a count"},
        started_at=STARTED,
        wall_now=STARTED + timedelta(seconds=90),
        now=100.0,
        pid=42,
        version="1.2.3",
        collection="photos_x",
        api_url="http://127.0.0.1:1",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_the_record_reports_queue_counts_and_times() -> None:
    status = build_status(inputs())
    assert (status.state, status.health, status.problems) == ("indexing", "ok", [])
    assert (status.pid, status.version, status.collection, status.api_url) == (
        42,
        "1.2.3",
        "photos_x",
        inputs().api_url,
    )
    assert status.uptime_seconds == 90.0 and status.updated_at == "2026-01-01T00:01:30+00:00"
    assert (status.queue.settling, status.queue.queued, status.queue.rescans, status.queue.scanning) == (3, 7, 1, True)
    assert (status.rate_per_second, status.eta_seconds) == (2.0, 5.0)  # (7 + 3) / 2
    assert status.photos == {"indexed": 5, "pending": 1, "failed": 0}
    assert status.failures_by_code == {"ERR_DECODE": 2}
    assert status.since_start == {"indexed": 4, "deleted": 0}
    assert build_status(inputs(places_filled=3)).since_start["places_filled"] == 3
    assert build_status(inputs(rate_per_second=0.0)).eta_seconds is None
    assert build_status(inputs(queued=0, settling=0)).eta_seconds is None


def test_roots_are_reported_with_their_state_and_problems() -> None:
    watched = MonitoredRoot("/a", state=RootState.WATCHING, fstype="ext4", next_scan_at=160.04)
    watched.last_scan, watched.last_scan_at = ScanResult("/a", "/a", seconds=1.23456), "2026-01-01T00:00:10+00:00"
    missing = MonitoredRoot("/b")
    missing.mark_missing("the folder is missing")
    status = build_status(inputs(roots=[watched, missing], counts=IndexCounts({}, {}, {"/a": 3, "/b": 1})))
    a, b = status.watchers
    assert (a.state, a.mode, a.filesystem, a.photos) == ("watching", "scan", "ext4", 3)
    assert (a.last_scan_seconds, a.next_scan_in_seconds, a.last_scan_at) == (1.235, 60.0, watched.last_scan_at)
    assert (b.state, b.photos, b.next_scan_in_seconds, b.last_scan_seconds) == ("unavailable", 1, None, None)
    assert status.health == "degraded"
    assert [(p.where, p.reason) for p in status.problems] == [("/b", "the folder is missing")]


def test_every_problem_makes_the_daemon_degraded() -> None:
    shortage = Shortage("/data", free_mb=10.0, need_mb=500.0)
    failed = ModelStatus(embedder="failed", captioner="off", error="no weights", idle_unload_seconds=0, unloads=0)
    status = build_status(inputs(shortage=shortage, models=failed, pipeline_ok=False))
    assert [p.where for p in status.problems] == ["models", "/data", "pipeline"]
    assert status.problems[0].reason == "no weights" and status.read_only and status.health == "degraded"


def test_the_record_encodes_to_the_words_of_the_status_file() -> None:
    root = MonitoredRoot("/a", state=RootState.UNAVAILABLE)
    raw = msgspec.json.encode(build_status(inputs(roots=[root], state=DaemonState.IDLE)))
    plain = msgspec.json.decode(raw)
    assert plain["state"] == "idle" and plain["watchers"][0]["state"] == "unavailable"
    decoded = msgspec.json.decode(raw, type=DaemonStatus)
    assert decoded.state is DaemonState.IDLE and decoded.watchers[0].state is RootState.UNAVAILABLE


def test_building_the_record_changes_nothing() -> None:
    root = MonitoredRoot("/a", state=RootState.SCANNING)
    given = inputs(roots=[root], state=DaemonState.SCANNING, settling=0, queued=0, rescans=0, scanning=False)
    before = (repr(given), repr(root))
    first, second = build_status(given), build_status(given)
    assert first == second and first.state == "scanning"  # idle only once the phase says so
    assert (repr(given), repr(root)) == before


def test_model_status() -> None:
    worker = ModelWorker(lambda: None)  # type: ignore[arg-type, return-value]
    status = model_status(ModelSettings(captions="off", idle_unload_s=60.0), worker)
    assert (status.embedder, status.captioner, status.error, status.idle_unload_seconds) == (
        "unloaded",
        "off",
        None,
        60.0,
    )
    assert model_status(ModelSettings(captions="deferred"), worker).captioner == "unloaded"


def test_the_daemon_state_follows_the_work() -> None:
    phase = DaemonPhase()
    phase.work_changed(busy=False)
    assert phase.state == DaemonState.STARTING  # nothing moves it before it is ready
    phase.ready()
    phase.work_changed(busy=True)
    assert phase.state == DaemonState.SCANNING
    phase.root_scans_done()
    assert phase.state == DaemonState.INDEXING
    phase.work_changed(busy=False)
    assert phase.state == DaemonState.IDLE
    phase.root_scans_done()
    assert phase.state == DaemonState.IDLE
    phase.work_changed(busy=True)
    assert phase.state == DaemonState.INDEXING
    phase.stopping()
    phase.work_changed(busy=False)
    assert phase.state == DaemonState.STOPPING


def test_the_first_scans_can_end_straight_in_idle() -> None:
    phase = DaemonPhase()
    phase.ready()
    phase.work_changed(busy=False)
    assert phase.state == DaemonState.IDLE
