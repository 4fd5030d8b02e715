"""A daemon killed with SIGKILL takes its whole process tree with it: model host, decode and map workers, tracker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import write_config
from tests.e2e.test_daemon_process import Daemon, photo, tagged_processes

pytestmark = pytest.mark.timeout(300)

# The children must be gone this soon after the daemon; a lingering one is what the test is for.
EXIT_DEADLINE_S = 10.0


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...


def descendants(pid: int) -> dict[int, str]:
    """Live processes below ``pid`` → their command line."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None and fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier and child not in found}
        for child in frontier:
            found[child] = _cmdline(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def nice(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[16]) if fields is not None else None  # field 19 of /proc/pid/stat


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class ServedDaemon(Daemon):
    """``photoindex serve`` with the query API on, so the map's worker warms up at start."""

    def start(self) -> ServedDaemon:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "photoindex", "--config", str(self.config), "serve", str(self.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        return self


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    config = write_config(tmp_path)
    with open(config, "a", encoding="utf-8") as handle:
        handle.write(f"[watch]\nsettle_s = 0.5\nmax_delay_s = 5.0\n[api]\nport = {free_port()}\n")
    root = tmp_path / "lib"
    root.mkdir()
    tag = os.urandom(8).hex()
    yield config, root, tag
    for pid in tagged_processes(tag, grace_s=0):
        os.kill(pid, signal.SIGKILL)


def kill_and_expect_no_survivors(daemon: Daemon, tree: dict[int, str]) -> None:
    daemon.stop(signal.SIGKILL)
    survivors = lambda: {pid: cmd for pid, cmd in tree.items() if alive(pid)}  # noqa: E731
    try:
        wait_for(lambda: not survivors(), EXIT_DEADLINE_S, "every child of the killed daemon to exit")
    except AssertionError:
        raise AssertionError(f"children outlived the daemon: {survivors()}") from None


def test_sigkill_at_any_moment_leaves_no_process_of_the_daemon(served: tuple[Path, Path, str]) -> None:
    config, root, tag = served
    for i in range(3):
        photo(root / f"start{i}.jpg", seed=i)

    # 1. While the map warms up: its worker (niced by 10 once initialised) is compiling UMAP.
    daemon = ServedDaemon(root.parent, config, root, tag).start()
    tree: dict[int, str] = {}

    def map_worker_running() -> bool:
        tree.update(descendants(daemon.pid))
        niced = min(19, (nice(daemon.pid) or 0) + 10)  # the worker lowers its priority by 10 (the test may run niced)
        return any(nice(pid) == niced for pid in tree)

    wait_for(map_worker_running, 120, "the map worker to start")
    assert any("resource_tracker" in cmd for cmd in tree.values()), tree
    kill_and_expect_no_survivors(daemon, tree)

    # 2. Ready and idle: models loaded in their process, decode workers up.
    daemon = ServedDaemon(root.parent, config, root, tag).start()
    daemon.converged(3)
    tree = descendants(daemon.pid)
    assert len(tree) >= 3, tree  # at least the tracker, a decode worker and the model process
    kill_and_expect_no_survivors(daemon, tree)

    # 3. While indexing: photos keep arriving, batches are in the model process.
    daemon = ServedDaemon(root.parent, config, root, tag).start()
    daemon.wait_for(lambda s: s.state == "idle", what="the restarted daemon")
    for i in range(150):
        photo(root / "burst" / f"p{i:03d}.jpg", seed=100 + i)
    daemon.wait_for(lambda s: s.since_start.get("indexed", 0) > 0, what="indexing to start")
    tree = descendants(daemon.pid)
    kill_and_expect_no_survivors(daemon, tree)
    assert tagged_processes(tag, grace_s=0) == []
