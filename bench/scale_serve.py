"""The serve part of bench/scale.py: a real ``photoindex serve`` on the built library, measured over HTTP.

Run order: start → API answering; the first reconcile while text queries run;
warm text queries (unfiltered, filtered); photos dropped until searchable;
exact and near duplicates (first answer, then after a new copy); similar
groups; the first map (watched from the start in a thread); idle memory
after the model unload TTL. A thread samples the process tree's memory and
another asks ``/health`` every 50 ms throughout (``scale_probe.py``).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from latency import photo_bytes
from scale_library import WORDS
from scale_probe import MB, StallProbe, TreeSampler, tree_memory

READY_TIMEOUT_S = 900.0
RECONCILE_TIMEOUT_S = 3600.0
FILTER_PARAMS = {"make": "Canon", "has_gps": "true", "taken_from": "2008-01-01", "taken_to": "2016-01-01"}


@dataclass(frozen=True)
class ServeRun:
    config: Path
    root: Path
    state_dir: Path
    port: int
    photos: int
    queries: int
    drops: int
    drop_size: tuple[int, int]
    similar_timeout: float
    map_timeout: float
    ttl: float


class DaemonGone(RuntimeError):
    pass


class Session:
    """The daemon process, an HTTP client to it, and the clock since it was started."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.base_url, timeout=300)
        self.began = time.monotonic()

    def since_start(self) -> float:
        return time.monotonic() - self.began

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise DaemonGone(f"the daemon exited with {self.process.returncode}")

    def get(self, path: str, **params: Any) -> httpx.Response:
        self.alive()
        return self.client.get(path, params=params)

    def wait(self, condition: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> float:
        """Seconds until ``condition`` held; TimeoutError after ``timeout``."""
        began = time.monotonic()
        while not condition():
            self.alive()
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"{what}: not within {timeout:g} s")
            time.sleep(every)
        return time.monotonic() - began


def text_query(session: Session, q: str, **filters: str) -> tuple[float, int]:
    began = time.perf_counter()
    response = session.get("/api/v1/search/text", q=q, limit=20, **filters)
    return time.perf_counter() - began, response.status_code


def latency_row(samples: list[float], codes: Counter[int]) -> dict[str, Any]:
    ms = np.asarray(samples) * 1000 if samples else np.asarray([np.nan])
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "max_ms": round(float(ms.max()), 1),
        "answers": len(samples),
        "not_ok": {str(code): count for code, count in codes.items() if code != 200},
    }


def queries(session: Session, count: int, offset: int, **filters: str) -> dict[str, Any]:
    samples, codes = [], Counter[int]()
    for i in range(count):
        took, code = text_query(session, f"{WORDS[i % len(WORDS)]}, picture {offset + i}", **filters)
        codes[code] += 1
        if code == 200:
            samples.append(took)
    return latency_row(samples, codes)


def reconcile_with_queries(session: Session) -> dict[str, Any]:
    """Query while the first reconcile runs; done when the daemon is idle with every root scanned."""
    samples, codes = [], Counter[int]()
    first_query: float | None = None
    i = 0
    while True:
        status = daemon_status(session)
        watchers = status.get("watchers", [])
        if status["state"] == "idle" and watchers and all(w.get("last_scan_seconds") is not None for w in watchers):
            break
        if session.since_start() > RECONCILE_TIMEOUT_S:
            raise TimeoutError("the first reconcile did not end")
        took, code = text_query(session, f"{WORDS[i % len(WORDS)]} during the scan {i}")
        codes[code] += 1
        if first_query is None:
            first_query = took  # the text model loads for it
        elif code == 200:
            samples.append(took)
        i += 1
    return {
        "done_after_start_s": round(session.since_start(), 1),
        "scan_s": max(w["last_scan_seconds"] for w in watchers),
        "first_query_s": round(first_query, 2) if first_query is not None else None,
        "queries_meanwhile": latency_row(samples, codes),
    }


def daemon_status(session: Session) -> dict[str, Any]:
    """The daemon's own status record, as ``GET /status`` carries it."""
    status: dict[str, Any] = session.get("/api/v1/status").json()["daemon"]
    return status


def found(session: Session, folder: Path, path: Path) -> bool:
    response = session.get("/api/v1/search/text", q="photo", folder=str(folder), limit=100)
    return response.status_code == 200 and any(h["photo"]["path"] == str(path) for h in response.json()["hits"])


def write_photo(path: Path, data: bytes) -> float:
    """Write and close a photo; the time it closed."""
    with open(path, "wb") as handle:
        handle.write(data)
    return time.monotonic()


def measure_drops(session: Session, folder: Path, run: ServeRun) -> dict[str, Any]:
    blobs = [photo_bytes(5000 + i, run.drop_size) for i in range(run.drops + 1)]
    latencies = []
    for i, blob in enumerate(blobs):
        target = folder / f"drop-{i:03d}.jpg"
        closed = write_photo(target, blob)
        session.wait(lambda t=target: found(session, folder, t), 600, f"drop {i}", every=0.02)  # type: ignore[misc]
        if i:  # the first is the warm-up
            latencies.append(time.monotonic() - closed)
        time.sleep(1.0)
    s = np.asarray(latencies)
    return {
        "drops": len(latencies),
        "p50_s": round(float(np.percentile(s, 50)), 3),
        "p95_s": round(float(np.percentile(s, 95)), 3),
        "all_s": [round(float(v), 3) for v in s],
    }


def duplicates_answer(session: Session, kind: str, timeout: float) -> tuple[float | None, dict[str, Any]]:
    """Seconds until a complete answer of ``kind`` (None when not within ``timeout``), and the last page."""
    began = time.monotonic()
    while True:
        page = session.get("/api/v1/duplicates", kind=kind, wait_s=10, limit=50).json()
        if page.get("total_groups") is not None and not page["computing"] and not page["stale"]:
            return time.monotonic() - began, page
        if time.monotonic() - began > timeout:
            return None, page


def holds(page: dict[str, Any], path: Path) -> bool:
    return any(m["path"] == str(path) for g in page.get("groups", []) for m in g["members"])


def after_new_copy(session: Session, kind: str, target: Path, data: bytes, timeout: float) -> float | None:
    """Seconds from a copy's close until the ``kind`` groups hold it (None when not within ``timeout``)."""
    closed = write_photo(target, data)
    while time.monotonic() - closed < timeout:
        page = session.get("/api/v1/duplicates", kind=kind, wait_s=10, limit=50).json()
        if holds(page, target) and not page["computing"]:
            return time.monotonic() - closed
        time.sleep(0.05)
    return None


def re_encoded(data: bytes) -> bytes:
    """The same shot saved again at another quality: a near copy, not a byte copy."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def measure_duplicates(session: Session, folder: Path, run: ServeRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    original = (folder / "drop-001.jpg").read_bytes()
    for kind, copy in (("exact", original), ("near", re_encoded(original))):
        first, page = duplicates_answer(session, kind, RECONCILE_TIMEOUT_S)
        out[f"{kind}_first_s"] = round(first, 2) if first is not None else None
        out[f"{kind}_groups"] = page.get("total_groups")
        new = after_new_copy(session, kind, folder / f"copy-{kind}.jpg", copy, 300)
        out[f"{kind}_after_new_photo_s"] = round(new, 2) if new is not None else None
    similar, page = duplicates_answer(session, "similar", run.similar_timeout)
    out["similar_s"] = round(similar, 1) if similar is not None else None
    out["similar_groups"] = page.get("total_groups")
    out["similar_progress"] = page.get("progress")
    return out


class FirstMap:
    """Watches ``/projection`` from the start: when a map first covered the library, and its worker's peak."""

    def __init__(self, session: Session, photos: int, sampler: TreeSampler) -> None:
        self.session, self.photos, self.sampler = session, photos, sampler
        self.seconds: float | None = None
        self.method: str | None = None
        self.covered = 0
        self.worker_pid: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="first-map", daemon=True)

    def start(self) -> FirstMap:
        self._thread.start()
        return self

    def wait(self, timeout: float) -> dict[str, Any]:
        self._thread.join(max(0.0, timeout - self.session.since_start()))
        self._stop.set()
        self._thread.join()
        peak = self.sampler.peak_by_pid.get(self.worker_pid, 0) if self.worker_pid else None
        return {
            "first_map_s": round(self.seconds, 1) if self.seconds is not None else None,
            "method": self.method,
            "photos_covered": self.covered,
            "worker_peak_rss_mb": round(peak / MB) if peak else None,
        }

    def _run(self) -> None:
        with httpx.Client(base_url=self.session.base_url, timeout=300) as client:
            while not self._stop.wait(2.0):
                self.worker_pid = self.worker_pid or _map_worker(self.session.process.pid)
                try:
                    page = client.get("/api/v1/projection", params={"limit": 1}).json()
                except (httpx.HTTPError, ValueError):
                    continue
                self.covered = max(self.covered, int(page.get("total") or 0))
                if page.get("method") and self.covered >= self.photos:
                    self.seconds, self.method = self.session.since_start(), page["method"]
                    return


def _map_worker(pid: int) -> int | None:
    """The child process that fits maps: the one that loaded numba's compiler (llvmlite)."""
    for child in tree_memory(pid):
        if child == pid:
            continue
        try:
            if "llvmlite" in Path(f"/proc/{child}/maps").read_text(errors="replace"):
                return child
        except OSError:
            continue
    return None


def idle_memory(session: Session, run: ServeRun) -> dict[str, Any]:
    """The tree's memory once models are unloaded and captions done, one TTL later (decode workers go too)."""

    def settled() -> bool:
        status = daemon_status(session)
        models = status["models"]
        return models["embedder"] == "unloaded" and not status.get("captions_pending") and status["state"] == "idle"

    session.wait(settled, run.ttl + 1800, "models unloaded", every=1.0)
    time.sleep(run.ttl + 3)
    memory = tree_memory(session.process.pid)
    return {
        "anon_mb": round(sum(m.anon for m in memory.values()) / MB),
        "mapped_files_mb": round(sum(m.file + m.shmem for m in memory.values()) / MB),
        "daemon_anon_mb": round(memory[session.process.pid].anon / MB) if session.process.pid in memory else None,
        "processes": len(memory),
    }


def measure_serve(run: ServeRun) -> dict[str, Any]:
    drops = run.root / "drops"
    drops.mkdir(exist_ok=True)  # before the start: an empty folder, nothing to do
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET"))}
    log = open(run.config.parent / "daemon.log", "wb")  # noqa: SIM115 - closed below, after the process ends
    command = [sys.executable, "-m", "photoindex", "--config", str(run.config), "serve", str(run.root)]
    session = Session(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), run.port)
    sampler = TreeSampler(session.process.pid).start()
    probe: StallProbe | None = None
    out: dict[str, Any] = {}
    try:
        out["ready_s"] = round(session.wait(lambda: _answers(session), READY_TIMEOUT_S, "API answering"), 2)
        probe = StallProbe(session.base_url).start()
        first_map = FirstMap(session, run.photos, sampler).start()
        probe.phase = "reconcile"
        print("  reconcile, with queries", flush=True)
        out["reconcile"] = reconcile_with_queries(session)
        probe.phase = "queries"
        print("  text queries", flush=True)
        out["text_query"] = queries(session, run.queries, 0)
        out["text_query_filtered"] = queries(session, run.queries, run.queries, **FILTER_PARAMS)
        probe.phase = "drops"
        print("  drops", flush=True)
        out["drop_to_searchable"] = measure_drops(session, drops, run)
        probe.phase = "duplicates"
        print("  duplicates", flush=True)
        out["duplicates"] = measure_duplicates(session, drops, run)
        probe.phase = "map"
        print("  map", flush=True)
        out["map"] = first_map.wait(run.map_timeout)
        probe.phase = "idle"
        print("  idle memory", flush=True)
        out["idle"] = idle_memory(session, run)
    finally:
        if probe is not None:
            probe.stop()
        sampler.stop()
        session.process.send_signal(signal.SIGTERM)
        try:
            session.process.wait(120)
        except subprocess.TimeoutExpired:
            session.process.kill()
            session.process.wait()
        session.client.close()
        log.close()
    if probe is not None:
        out["api_stall"] = {
            "longest_s": round(probe.longest_s, 3),
            "during": probe.label,
            "by_phase_s": {k: round(v, 3) for k, v in probe.by_phase.items()},
            "health_answers": probe.answers,
            "health_failures": probe.failures,
        }
    out["peak_rss_mb"] = round(sampler.peak_rss / MB)
    out["peak_anon_mb"] = round(sampler.peak_anon / MB)
    out["peak_by_process_mb"] = {
        sampler.commands.get(pid, "?")[:80] + f" [{pid}]": round(rss / MB) for pid, rss in sampler.peak_by_pid.items()
    }
    return out


def _answers(session: Session) -> bool:
    try:
        return session.get("/api/v1/health").status_code == 200
    except httpx.HTTPError:
        return False


__all__ = ["ServeRun", "measure_serve"]
