"""Watching a running daemon from outside for bench/scale.py: its process tree's memory, and API stalls.

Memory is read from ``/proc/<pid>/status`` of the daemon and every process
below it: ``RssAnon`` (heap and anonymous maps: what the daemon itself
holds) apart from ``RssFile`` and ``RssShmem`` (memory-mapped files, such as
the store's segments, which the kernel can drop and re-read). A thread
samples the tree and keeps the peak of the sum and each process's own peak.

Stalls are seen as a client sees them: a thread asks ``GET /api/v1/health``
(no store, no model) every ``interval`` seconds; its slowest answer is the
longest time the server's event loop could not answer anybody.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rss_sampler import children_map

MB = 1 << 20


@dataclass
class ProcessMemory:
    """One process's resident memory in bytes."""

    rss: int = 0
    anon: int = 0
    file: int = 0
    shmem: int = 0


def process_memory(pid: int) -> ProcessMemory | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    found = ProcessMemory()
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            value = int(rest.split()[0]) * 1024
            name = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem"}[key]
            setattr(found, name, value)
    return found


def tree_pids(pid: int) -> list[int]:
    """``pid`` and every process below it, ``pid`` first."""
    children = children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def tree_memory(pid: int) -> dict[int, ProcessMemory]:
    out = {}
    for p in tree_pids(pid):
        memory = process_memory(p)
        if memory is not None:
            out[p] = memory
    return out


def cpu_ticks(pid: int) -> int:
    """User + system clock ticks used so far by one process (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return 0
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


@dataclass
class TreeSampler:
    """Samples the memory of a process tree in a thread: the peak of the sum, and each process's peak."""

    pid: int
    interval: float = 0.2
    peak_rss: int = 0
    peak_anon: int = 0
    peak_by_pid: dict[int, int] = field(default_factory=dict)
    commands: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def sample(self) -> None:
        memory = tree_memory(self.pid)
        self.peak_rss = max(self.peak_rss, sum(m.rss for m in memory.values()))
        self.peak_anon = max(self.peak_anon, sum(m.anon for m in memory.values()))
        for p, m in memory.items():
            if m.rss > self.peak_by_pid.get(p, 0):
                self.peak_by_pid[p] = m.rss
            if p not in self.commands:
                self.commands[p] = cmdline(p)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


@dataclass
class StallProbe:
    """Asks ``/api/v1/health`` every ``interval`` seconds; keeps the slowest answer and when it came."""

    base_url: str
    interval: float = 0.05
    longest_s: float = 0.0
    longest_at_s: float = 0.0  # seconds after start()
    label: str = ""  # what was running when the longest answer came
    answers: int = 0
    failures: int = 0
    phase: str = "start"
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0
    by_phase: dict[str, float] = field(default_factory=dict)

    def start(self) -> StallProbe:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="stall-probe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            while not self._stop.wait(self.interval):
                began = time.monotonic()
                phase = self.phase
                try:
                    ok = client.get("/api/v1/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.monotonic() - began
                if not ok:
                    self.failures += 1
                    continue
                self.answers += 1
                self.by_phase[phase] = max(self.by_phase.get(phase, 0.0), took)
                if took > self.longest_s:
                    self.longest_s, self.longest_at_s, self.label = took, began - self._started, phase


__all__ = ["MB", "ProcessMemory", "StallProbe", "TreeSampler", "cmdline", "cpu_ticks", "tree_memory", "tree_pids"]
