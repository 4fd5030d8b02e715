"""End to end: `photoindex serve` on a temporary library, driven over real HTTP and by `photoindex search`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoindex import cli
from photoindex.library.query_vectors import LOAD_WAIT_S
from photoindex.oneshot import searching
from tests.fixtures.images import make_jpeg
from tests.fixtures.models import tiny_clip_config

pytestmark = pytest.mark.slow
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        # A query waits for a model load already running (up to LOAD_WAIT_S), so the client waits longer.
        with urllib.request.urlopen(request, timeout=LOAD_WAIT_S + 15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (urllib.error.URLError, ConnectionError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    library = tmp_path / "lib"
    library.mkdir()
    make_jpeg(library / "first.jpg", (320, 240), seed=1, make="Canon", model="EOS R5")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[watch]\nfolders = ["{library}"]\n'
        f'[model]\nclip = "{tiny_clip_config(tmp_path / "models")}"\nweights = "random"\ncaptions = "off"\n'
        "decode_workers = 1\n"
        f"[api]\nport = {port}\n"
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\ncache_dir = "{tmp_path / "cache"}"\n'
        f'state_dir = "{tmp_path / "state"}"\n'
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PHOTOINDEX_CONFIG": str(config)}
    process = subprocess.Popen(
        [sys.executable, "-m", "photoindex.cli", "--config", str(config), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_for(lambda: call(f"{base}/ready")[1].get("ready"), START_TIMEOUT_S, "the daemon to be ready")
        yield base, library, config
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, process.stderr.read().decode()[-3000:] if process.stderr else ""


def searched_in_process(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("photoindex search loaded a model in-process instead of asking the daemon")


def names(page: dict[str, Any]) -> set[str]:
    return {Path(h["photo"]["path"]).name for h in page.get("hits", [])}  # a 503 while the model loads: none yet


def test_drop_upload_search_and_cli_through_the_daemon(
    daemon: tuple[str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base, library, config = daemon
    wait_for(lambda: "first.jpg" in names(call(f"{base}/search/text?q=a+photo")[1]), 30, "the first photo")

    dropped = make_jpeg(tmp_path / "second.jpg", (320, 240), seed=2)
    shutil.move(dropped, library / "second.jpg")  # dropped into the watched folder
    wait_for(lambda: "second.jpg" in names(call(f"{base}/search/text?q=a+photo")[1]), 30, "the dropped photo")

    boundary = "b0undary"
    upload = make_jpeg(tmp_path / "third.jpg", (320, 240), seed=3).read_bytes()
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="third.jpg"\r\n\r\n'.encode()
        + upload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, result = call(f"{base}/ingest/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 201 and [s["name"] for s in result["saved"]] == ["third.jpg"]
    wait_for(lambda: "third.jpg" in names(call(f"{base}/search/text?q=a+photo")[1]), 30, "the uploaded photo")

    status, page = call(f"{base}/search/text?q=camera&make=Canon")
    assert status == 200 and names(page) == {"first.jpg"}
    assert call(f"{base}/status")[1]["daemon"]["state"] in ("idle", "indexing", "scanning")
    assert call(f"{base}/duplicates?kind=exact&wait_s=5")[0] == 200
    assert call(f"{base}/projection")[0] == 200

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(searching, "search_in_process", searched_in_process)  # the daemon must answer
    assert cli.main(["--config", str(config), "search", "a photo", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert {Path(h["path"]).name for h in hits} == {"first.jpg", "second.jpg", "third.jpg"}
