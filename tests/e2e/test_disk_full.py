"""``photoindex serve`` with its data, cache and state folders on a small filesystem that fills up.

The daemon must stay alive and read-only (status degraded with the reason,
searches and cached thumbnails answering), resume by itself once space is
freed with the index converging to the files on disk, and start read-only
on a disk that is already full. The filesystem is a 256 MB tmpfs mounted by
the test (it needs root, which CI has); tmpfs is where the store's
memory-mapped files turned a full disk into a SIGBUS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photoindex.components import open_index_store
from photoindex.config import AppPaths, load_settings
from photoindex.daemon.status import DaemonStatus, read_status
from photoindex.indexer.disk.space import OPEN_MARGIN_MB
from photoindex.indexer.models.ids import clip_spec
from tests.e2e.conftest import write_config
from tests.e2e.test_daemon_process import photo, tagged_processes

pytestmark = pytest.mark.timeout(420)

SMALL_FS_MB = 256  # an embedded store on tmpfs takes ~190 MB once loaded (every mapped file whole)
MIN_FREE_MB = 8  # above what loading the store needs once its vector chunk is allocated
MB = 1_000_000


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A fresh 256 MB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs for the data folder (CI runs the tests as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_FS_MB}m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (mount said: {done.stderr.strip()}); the test needs CAP_SYS_ADMIN")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fill(folder: Path, leave_mb: float) -> Path:
    """A filler file that leaves ``leave_mb`` free on ``folder``'s filesystem."""
    filler = folder / "filler"
    st = os.statvfs(folder)
    size = st.f_bavail * st.f_frsize - int(leave_mb * MB)
    assert size > 0, f"only {st.f_bavail * st.f_frsize / MB:.1f} MB free before filling"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
    return filler


class ApiDaemon:
    """``python -m photoindex serve`` with the query API on an ephemeral port."""

    def __init__(self, tmp_path: Path, config: Path, root: Path, state_dir: Path, tag: str) -> None:
        self.config, self.root, self.state_dir = config, root, state_dir
        self.log = tmp_path / f"daemon-{time.monotonic_ns()}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET", "WATCHDOG_"))}
        self.env = {**base, "HF_HUB_OFFLINE": "1", "PHOTOINDEX_TEST_TAG": tag}
        with open(self.log, "wb") as log:
            command = [sys.executable, "-m", "photoindex", "--config", str(config), "serve", str(root)]
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def alive(self) -> bool:
        return self.process.poll() is None

    def status(self) -> DaemonStatus | None:
        status, _why = read_status(self.state_dir)
        return status if status is not None and status.pid == self.process.pid else None

    def wait_for(self, condition: Callable[[DaemonStatus], bool], what: str, timeout: float = 150) -> DaemonStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive(), f"the daemon exited with {self.process.returncode}:\n{self.tail()}"
            status = self.status()
            if status is not None and condition(status):
                return status
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last status {self.status()}\n{self.tail()}")

    def converged(self, n: int) -> DaemonStatus:
        return self.wait_for(
            lambda s: (
                s.state == "idle"
                and not s.read_only
                and s.photos["indexed"] == n
                and s.queue.settling == 0
                and s.queue.queued == 0
                and s.queue.rescans == 0
            ),
            f"{n} photos indexed and an idle, writable daemon",
        )

    def get(self, path: str) -> tuple[int, Any]:
        status = self.status()
        assert status is not None and status.api_url is not None
        try:
            with urllib.request.urlopen(status.api_url + "/api/v1" + path, timeout=30) as response:
                body = response.read()
                kind = response.headers.get("content-type", "")
                return response.status, json.loads(body) if "json" in kind else body
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def search(self, text: str, timeout: float = 120) -> list[dict[str, Any]]:
        """Text search results; a 503 while the text model loads (the first query after a start) is waited out."""
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.get("/search/text?" + urllib.parse.urlencode({"q": text, "limit": 100}))
            loading = code == 503 and body.get("code") == "ERR_MODEL_UNAVAILABLE" and "loading" in body["detail"]
            if not loading or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert code == 200, (code, body)
        hits: list[dict[str, Any]] = body["hits"]
        return hits

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def index_is_disk(config: Path, root: Path) -> None:
    """The stopped daemon's store holds exactly one indexed point per file on disk."""
    settings = load_settings(config).settings
    store = open_index_store(settings, AppPaths.from_settings(settings), clip_spec(settings.model))
    try:
        paths = Counter(p.payload.path for p in store.scroll())
        statuses = Counter(p.payload.status for p in store.scroll())
    finally:
        store.close()
    doubled = [p for p, n in paths.items() if n > 1]
    on_disk = {str(p.resolve()) for p in root.rglob("*.jpg")}
    assert not doubled, doubled[:5]
    assert set(paths) == on_disk, (sorted(set(paths) - on_disk)[:5], sorted(on_disk - set(paths))[:5])
    assert statuses == Counter({"indexed": len(on_disk)}), statuses


def test_a_full_disk_makes_the_daemon_read_only_and_it_resumes_by_itself(tmp_path: Path, small_fs: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text()
    for name in ("data_dir", "cache_dir", "state_dir"):
        text = text.replace(f'{name} = "{tmp_path / name}"', f'{name} = "{small_fs / name}"')
    text += f"[watch]\nsettle_s = 0.5\nmax_delay_s = 5.0\n[store]\nmin_free_mb = {MIN_FREE_MB}\n"
    text += f"[api]\nport = {free_port()}\n"
    config.write_text(text)
    root = tmp_path / "lib"  # the photos arrive from elsewhere: a camera import into another disk
    root.mkdir()
    state_dir = small_fs / "state_dir"
    tag = uuid.uuid4().hex
    for i in range(20):
        photo(root / f"first/p{i:02d}.jpg", seed=i)

    daemon = ApiDaemon(tmp_path, config, root, state_dir, tag)
    try:
        daemon.converged(20)
        first = daemon.search("a photo")[0]
        code, _jpeg = daemon.get(f"/photos/{first['id']}/thumbnail")
        assert code == 200  # cached now

        # Photos keep arriving while something else fills the disk below the reserve.
        arrived: list[Path] = []

        def camera() -> None:
            for i in range(30):
                arrived.append(photo(root / f"import/q{i:02d}.jpg", seed=100 + i))
                time.sleep(0.05)

        writer = threading.Thread(target=camera)
        writer.start()
        while len(arrived) < 10:
            time.sleep(0.01)
        filler = fill(small_fs, leave_mb=MIN_FREE_MB / 2)
        writer.join(timeout=60)

        status = daemon.wait_for(lambda s: s.read_only, "the daemon to go read-only")
        assert status.health == "degraded"
        problem = next(p for p in status.problems if p.reason.startswith("disk full:"))
        assert f"MB free on {small_fs}" in problem.reason and f"need {MIN_FREE_MB} MB" in problem.reason
        assert "free space" in problem.fix and "resumes by itself" in problem.fix
        assert daemon.alive()
        assert len(daemon.search("a photo")) >= 20  # searches answer
        code, _jpeg = daemon.get(f"/photos/{first['id']}/thumbnail")
        assert code == 200  # a cached thumbnail is served
        shown = subprocess.run(
            [sys.executable, "-m", "photoindex", "--config", str(config), "status"],
            capture_output=True,
            text=True,
            env=daemon.env,
            timeout=60,
        )
        assert shown.returncode == 0 and "read-only" in shown.stdout and "disk full:" in shown.stdout

        # Space comes back: indexing resumes by itself and converges, nothing lost, nothing doubled.
        filler.unlink()
        photo(root / "import/after.jpg", seed=999)
        daemon.converged(51)
        assert daemon.alive()
    finally:
        daemon.stop()
    index_is_disk(config, root)

    # A start on a disk that is already full (below the reserve, with the little that loading the
    # store writes): up, read-only, searching, and saying why.
    filler = fill(small_fs, leave_mb=OPEN_MARGIN_MB + 2)
    photo(root / "import/while_down.jpg", seed=1000)
    daemon = ApiDaemon(tmp_path, config, root, state_dir, tag)
    try:
        status = daemon.wait_for(lambda s: s.read_only and s.api_url is not None, "a read-only start")
        assert any(p.reason.startswith("disk full:") for p in status.problems)
        assert len(daemon.search("a photo")) == 51
        filler.unlink()
        daemon.converged(52)
    finally:
        daemon.stop()
    index_is_disk(config, root)

    # Too full even to load the store (which writes): the daemon waits, says why, and opens once there is room.
    filler = fill(small_fs, leave_mb=1)
    photo(root / "import/while_waiting.jpg", seed=1001)
    daemon = ApiDaemon(tmp_path, config, root, state_dir, tag)
    try:
        status = daemon.wait_for(lambda s: bool(s.problems), "a start that waits for room")
        assert status.state == "starting" and status.read_only and status.health == "degraded"
        assert status.problems[0].reason.startswith("disk full: ") and "to open the index" in status.problems[0].reason
        assert daemon.alive()
        filler.unlink()
        daemon.converged(53)
    finally:
        daemon.stop()
    index_is_disk(config, root)
    assert tagged_processes(tag) == []
