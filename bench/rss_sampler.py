"""Peak resident memory of this process and all its descendants, sampled, with per-phase peaks.

On Linux a thread reads ``/proc`` every ``interval`` seconds and sums the RSS of
this process and every process below it (decode workers included). The sum
counts shared pages (libraries) once per process, so it errs high. Elsewhere
only ``getrusage`` is available: ``ru_maxrss`` of this process and of the
largest finished child.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
from collections.abc import Iterator

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MB = 1 << 20


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree_rss(pid: int | None = None) -> tuple[int, list[int]]:
    """(bytes resident in ``pid`` and its descendants, each one's bytes, ``pid`` first); Linux only."""
    root = pid or os.getpid()
    children = children_map()
    each: list[int] = []
    todo = [root]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm", "rb") as handle:
                each.append(int(handle.read().split()[1]) * _PAGE)
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(current, ()))
    return sum(each), each


def tree_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds used so far by ``pid`` and its live descendants; Linux only."""
    root = pid or os.getpid()
    children = children_map()
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [root]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat", "rb") as handle:
                stat = handle.read()
            fields = stat[stat.rfind(b")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(current, ()))
    return total


def system_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (every core; not idle, not iowait); Linux only."""
    try:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def rusage_peaks() -> dict[str, float]:
    """ru_maxrss of this process and of its largest waited-for child, in MB."""
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {"self_maxrss_mb": round(own / MB, 1), "children_maxrss_mb": round(child / MB, 1)}


class RssSampler:
    """Samples the process tree's RSS in a thread; ``phase(name)`` records that phase's peak."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.enabled = sys.platform.startswith("linux") and os.path.isdir("/proc")
        self.peak = 0
        self.peak_each: list[int] = []
        self.phases: dict[str, float] = {}
        self._current: str | None = None
        self._phase_peak = 0
        self._phase_each: list[int] = []
        self.phase_each: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> RssSampler:
        if self.enabled:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def sample(self) -> None:
        if not self.enabled:
            return
        rss, each = tree_rss()
        with self._lock:
            if rss > self.peak:
                self.peak, self.peak_each = rss, each
            if rss > self._phase_peak:
                self._phase_peak, self._phase_each = rss, each

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.sample()
        with self._lock:
            self._current, self._phase_peak, self._phase_each = name, 0, []
        try:
            yield
        finally:
            self.sample()
            with self._lock:
                self.phases[name] = round(self._phase_peak / MB, 1)
                self.phase_each[name] = [round(b / MB, 1) for b in self._phase_each]
                self._current = None

    def report(self) -> dict[str, object]:
        return {
            "sampled": self.enabled,
            "peak_tree_mb": round(self.peak / MB, 1) if self.enabled else None,
            "peak_tree_each_mb": [round(b / MB, 1) for b in self.peak_each],  # this process first
            "by_phase_mb": dict(self.phases),
            "by_phase_each_mb": dict(self.phase_each),
            **rusage_peaks(),
        }
