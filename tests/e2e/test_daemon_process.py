"""``photoindex serve`` as a real process: one owner, signals, kill -9, SIGSTOP, the notify socket."""

from __future__ import annotations

import hashlib
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photoindex.components import open_index_store
from photoindex.config import AppPaths, load_settings
from photoindex.daemon.status import DaemonStatus, read_status
from photoindex.indexer.models.ids import clip_spec
from photoindex.indexer.store import payload_to_dict
from tests.e2e.conftest import write_config

pytestmark = pytest.mark.timeout(300)


def photo(path: Path, seed: int, side: int = 24) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG", quality=80)
    return path


class NotifyListener:
    """A service manager's end of ``NOTIFY_SOCKET``: a thread reads each datagram as it arrives."""

    def __init__(self, path: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(path)
        self._sock.settimeout(0.2)  # so the reader sees ``close``
        self._messages: queue.Queue[bytes] = queue.Queue()
        self._seen: list[bytes] = []
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                self._messages.put(self._sock.recv(4096))
            except TimeoutError:
                continue

    def next(self, timeout: float = 120) -> bytes:
        message = self._messages.get(timeout=timeout)
        self._seen.append(message)
        return message

    def received(self) -> list[bytes]:
        """Every message sent so far, in order; stops the reader (call it once the sender is done)."""
        self._stop_reading()
        while not self._messages.empty():
            self._seen.append(self._messages.get_nowait())
        self._sock.setblocking(False)
        while True:  # what arrived after the reader's last look
            try:
                self._seen.append(self._sock.recv(4096))
            except BlockingIOError:
                return self._seen

    def _stop_reading(self) -> None:
        self._closed.set()
        self._reader.join(timeout=5)
        assert not self._reader.is_alive()

    def close(self) -> None:
        self._stop_reading()
        self._sock.close()


class Daemon:
    """One ``python -m photoindex serve`` process, its log, and its status file."""

    def __init__(self, tmp_path: Path, config: Path, root: Path, tag: str, env: dict[str, str] | None = None) -> None:
        self.config, self.root, self.tmp_path = config, root, tmp_path
        self.state_dir = tmp_path / "state_dir"
        self.log = tmp_path / f"daemon-{time.monotonic_ns()}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET", "WATCHDOG_"))}
        self.env = {**base, "HF_HUB_OFFLINE": "1", "PHOTOINDEX_TEST_TAG": tag, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "photoindex", "--config", str(self.config), "serve", "--no-api", str(self.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def status(self) -> DaemonStatus | None:
        status, _why = read_status(self.state_dir)
        return status if status is not None and status.pid == self.pid else None

    def wait_for(self, condition: Callable[[DaemonStatus], bool], timeout: float = 120, what: str = "") -> DaemonStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, f"daemon exited:\n{self.tail()}"
            status = self.status()
            if status is not None and condition(status):
                return status
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what or 'the daemon'}; last status {self.status()}\n{self.tail()}"
        )

    def converged(self, n: int, timeout: float = 180) -> DaemonStatus:
        return self.wait_for(
            lambda s: s.state == "idle" and s.photos["indexed"] == n and s.queue.settling == 0 and s.queue.queued == 0,
            timeout,
            f"{n} photos indexed and an idle daemon",
        )

    def stop(self, sig: int = signal.SIGTERM) -> float:
        """Send ``sig`` and wait for the exit; returns how long it took."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout=60)
        return time.monotonic() - started

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """(config, root, tag): a config with tiny models and quick settling; stray children checked after."""
    config = write_config(tmp_path)
    with open(config, "a", encoding="utf-8") as handle:
        handle.write("[watch]\nsettle_s = 0.5\nmax_delay_s = 5.0\n")
    root = tmp_path / "lib"
    root.mkdir()
    tag = uuid.uuid4().hex
    yield config, root, tag
    leftovers = {pid: _cmdline(pid) for pid in tagged_processes(tag)}
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert leftovers == {}, "processes of a stopped daemon outlived it"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def tagged_processes(tag: str, grace_s: float = 10.0) -> list[int]:
    """Live processes started with PHOTOINDEX_TEST_TAG=tag (daemons, model hosts, decode workers)."""
    deadline = time.monotonic() + grace_s
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if f"PHOTOINDEX_TEST_TAG={tag}".encode() in handle.read():
                        with open(f"/proc/{entry}/stat", "rb") as stat:
                            if stat.read().split()[2] != b"Z":
                                found.append(int(entry))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def index_matches_disk(config: Path, root: Path) -> dict[str, Any]:
    """Open the (stopped) daemon's store: exactly the files on disk, each indexed with its current content."""
    settings = load_settings(config).settings
    store = open_index_store(settings, AppPaths.from_settings(settings), clip_spec(settings.model))
    try:
        points = {p.payload.path: payload_to_dict(p.payload) for p in store.scroll()}
    finally:
        store.close()
    on_disk = {str(p.resolve()) for p in root.rglob("*.jpg") if not p.name.startswith(".")}
    assert set(points) == on_disk, (sorted(set(points) - on_disk)[:5], sorted(on_disk - set(points))[:5])
    for path, payload in points.items():
        assert payload["status"] == "indexed", (path, payload.get("error_code"))
        assert payload["sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest(), path
        assert payload["size"] == os.path.getsize(path)
    return points


def test_a_second_daemon_is_refused_at_once_and_the_first_keeps_going(library: tuple[Path, Path, str]) -> None:
    config, root, tag = library
    first = Daemon(root.parent, config, root, tag).start()
    try:
        first.wait_for(lambda s: s.state == "idle", what="the first daemon")
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "photoindex", "--config", str(config), "serve", "--no-api", str(root)],
            capture_output=True,
            text=True,
            env=first.env,
            timeout=60,
        )
        assert second.returncode == 1 and time.monotonic() - started < 15
        assert "ERR_STORE_IN_USE" in second.stderr and f"pid {first.pid}" in second.stderr
        photo(root / "after.jpg", seed=1)
        first.converged(1)
        shown = subprocess.run(
            [sys.executable, "-m", "photoindex", "--config", str(config), "status"],
            capture_output=True,
            text=True,
            env=first.env,
            timeout=60,
        )
        assert shown.returncode == 0 and "1 indexed" in shown.stdout and "watching (inotify" in shown.stdout
    finally:
        first.stop()
    gone = subprocess.run(
        [sys.executable, "-m", "photoindex", "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        env=first.env,
        timeout=60,
    )
    assert gone.returncode == 3 and '"running": false' in gone.stdout


def test_notify_socket_sigterm_while_busy_and_restart(library: tuple[Path, Path, str], tmp_path: Path) -> None:
    config, root, tag = library
    sock_path = str(tmp_path / "notify.sock")
    manager = NotifyListener(sock_path)  # reads every message as it comes, as systemd does
    try:
        env = {"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000"}
        daemon = Daemon(tmp_path, config, root, tag, env=env).start()
        assert manager.next().startswith(b"READY=1")
        assert (tmp_path / "state_dir" / "serve.lock").exists()  # ready only after the owner lock and store
        assert [manager.next(), manager.next()] == [b"WATCHDOG=1", b"WATCHDOG=1"]

        for i in range(300):
            photo(root / f"p{i:03d}.jpg", seed=i)
        daemon.wait_for(lambda s: s.since_start.get("indexed", 0) > 0, what="indexing to start")
        took = daemon.stop(signal.SIGTERM)
        assert daemon.process is not None and daemon.process.returncode == 0
        assert took < 8, f"SIGTERM took {took:.1f} s\n{daemon.tail()}"
        assert b"STOPPING=1" in manager.received()  # sent before the exit the test waited for
    finally:
        manager.close()
    again = Daemon(tmp_path, config, root, tag).start()  # whatever the stop abandoned is redone
    try:
        again.converged(300)
    finally:
        again.stop()
    index_matches_disk(config, root)


@pytest.mark.slow
def test_stopped_with_sigstop_while_2000_files_change_then_converges(library: tuple[Path, Path, str]) -> None:
    config, root, tag = library
    for i in range(1000):
        photo(root / f"d{i % 20}" / f"p{i}.jpg", seed=i)
    daemon = Daemon(root.parent, config, root, tag).start()
    try:
        daemon.converged(1000, timeout=240)
        os.kill(daemon.pid, signal.SIGSTOP)
        try:
            for i in range(1000):
                photo(root / f"d{i % 20}" / f"p{i}.jpg", seed=10_000 + i)  # changed content
                photo(root / f"new{i % 10}" / f"n{i}.jpg", seed=20_000 + i)  # new files
            for i in range(0, 1000, 10):
                (root / f"d{i % 20}" / f"p{i}.jpg").unlink()
        finally:
            os.kill(daemon.pid, signal.SIGCONT)
        daemon.converged(1900, timeout=240)
    finally:
        daemon.stop()
    index_matches_disk(config, root)


@pytest.mark.slow
def test_kill_9_at_random_moments_during_ingest_then_converges(library: tuple[Path, Path, str]) -> None:
    config, root, tag = library
    rng = random.Random(20240611)
    stop_writing = threading.Event()
    written: list[Path] = []

    def writer() -> None:
        # A camera import: files keep landing, some in new folders, while the daemon dies and restarts.
        i = 0
        while not stop_writing.is_set() and i < 600:
            target = root / f"import{i // 100}" / f"IMG_{i:04d}.jpg"
            temp = target.with_name(f".{target.name}.part")
            photo(temp, seed=i, side=32)
            os.replace(temp, target)
            written.append(target)
            i += 1
            time.sleep(0.02)

    thread = threading.Thread(target=writer)
    daemon = Daemon(root.parent, config, root, tag).start()
    thread.start()
    try:
        for _round in range(4):
            time.sleep(rng.uniform(1.5, 5.0))  # sometimes still starting, sometimes mid-batch
            daemon.stop(signal.SIGKILL)
            daemon = Daemon(root.parent, config, root, tag).start()
        thread.join(timeout=120)
        for victim in written[::25]:
            victim.unlink()  # deletions between restarts too
        daemon.stop(signal.SIGKILL)
        daemon = Daemon(root.parent, config, root, tag).start()
        n = len(list(root.rglob("*.jpg")))
        daemon.converged(n, timeout=240)
        status = daemon.status()
        assert status is not None and status.photos == {"indexed": n, "pending": 0, "failed": 0}
    finally:
        stop_writing.set()
        thread.join(timeout=60)
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
    index_matches_disk(config, root)
