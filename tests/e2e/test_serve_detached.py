"""``photoindex serve --detach``: the quick start's daemon, started in the background as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoindex.daemon.status import read_status
from tests.e2e.conftest import write_config
from tests.integration.api.test_api_paging import free_port

pytestmark = pytest.mark.timeout(240)


def _config(tmp_path: Path, port: int) -> Path:
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as out:
        out.write(f'[api]\nport = {port}\nbrowse_roots = ["{tmp_path}"]\n')
    return config


def _photoindex(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET"))}
    return subprocess.run(
        [sys.executable, "-m", "photoindex", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**env, "HF_HUB_OFFLINE": "1"},
        timeout=180,
    )


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped
    except FileNotFoundError:
        return True


@pytest.fixture
def stop_daemon(tmp_path: Path) -> Iterator[None]:
    """Stop whatever daemon the test left running in this state folder, and wait until it is gone."""
    yield
    status, _why = read_status(tmp_path / "state_dir")
    if status is None:
        return
    os.kill(status.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while not _gone(status.pid):
        assert time.monotonic() < deadline, f"the daemon (pid {status.pid}) did not stop"
        time.sleep(0.1)


def test_detach_leaves_a_daemon_serving_the_page_and_adds_folders_to_it(tmp_path: Path, stop_daemon: None) -> None:
    port = free_port()
    config = _config(tmp_path, port)
    photos, more = tmp_path / "photos", tmp_path / "more"
    photos.mkdir()
    more.mkdir()

    started = _photoindex(config, "serve", "--detach", str(photos))
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == f"http://127.0.0.1:{port}/"
    assert "running in the background" in started.stderr
    # The command has returned; the daemon it started is still there and answers with the page.
    status, _why = read_status(tmp_path / "state_dir")
    assert status is not None and not _gone(status.pid)
    with urllib.request.urlopen(started.stdout.strip(), timeout=30) as page:
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert str(photos) in [root.path for root in status.watchers]

    again = _photoindex(config, "serve", "--detach", str(more))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == started.stdout.strip()
    assert f"already running (pid {status.pid})" in again.stderr and f"now watches {more}" in again.stderr
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/folders", timeout=30) as listing:
        assert str(more) in [folder["path"] for folder in json.load(listing)["folders"]]


def test_a_daemon_that_cannot_start_is_an_error_quoting_its_log(tmp_path: Path, stop_daemon: None) -> None:
    port = free_port()
    config = _config(tmp_path, port)
    (tmp_path / "photos").mkdir()
    with socket.socket() as taken:  # another program holds the port
        taken.bind(("127.0.0.1", port))
        taken.listen()
        failed = _photoindex(config, "serve", "--detach", str(tmp_path / "photos"))
    assert failed.returncode == 1
    assert "ERR_DAEMON_START" in failed.stderr and "serve.log ends with" in failed.stderr, failed.stderr
    assert failed.stdout == ""
