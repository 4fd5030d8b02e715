"""Removing a watched folder from a running `photoindex serve`, over real HTTP: keep by default, purge once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.images import make_jpeg
from tests.fixtures.models import tiny_clip_config
from tests.integration.api.test_api_serve_e2e import START_TIMEOUT_S, call, free_port, wait_for

pytestmark = pytest.mark.slow


def send(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    library = tmp_path / "lib"
    library.mkdir()
    for seed in (1, 2):
        make_jpeg(library / f"p{seed}.jpg", (320, 240), seed=seed)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[watch]\nfolders = ["{library}"]\nsettle_s = 0.5\n'
        f'[model]\nclip = "{tiny_clip_config(tmp_path / "models")}"\nweights = "random"\ncaptions = "off"\n'
        "decode_workers = 1\n"
        f'[api]\nport = {port}\nbrowse_roots = ["{tmp_path}"]\n'
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
        yield base, library
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, process.stderr.read().decode()[-3000:] if process.stderr else ""


def hits(base: str) -> dict[str, str]:
    """Search results: file name → photo id."""
    status, page = call(f"{base}/search/text?q=a+photo&limit=50")
    return {Path(h["photo"]["path"]).name: h["photo"]["id"] for h in page.get("hits", [])} if status == 200 else {}


def folder_photos(base: str) -> dict[str, int]:
    return {f["path"]: f["photos"] for f in call(f"{base}/folders")[1]["folders"]}


def since_start(base: str) -> dict[str, int]:
    return dict(call(f"{base}/status")[1]["daemon"]["since_start"])


def idle(base: str) -> bool:
    return bool(call(f"{base}/status")[1]["daemon"]["state"] == "idle")


def test_removing_a_folder_keeps_its_photos_unless_purged(served: tuple[str, Path]) -> None:
    base, library = served
    root = str(library.resolve())
    wait_for(lambda: len(hits(base)) == 2 and idle(base), 60, "both photos indexed")
    ids = hits(base)
    embedded = since_start(base)["embedded_images"]

    # The default keeps the photos: still searchable under the same ids, outside any watched folder.
    status, listing = send("DELETE", f"{base}/folders?path={root}")
    assert status == 200 and listing["folders"] == []
    assert hits(base) == ids
    assert call(f"{base}/photos/{ids['p1.jpg']}")[0] == 200

    # Watching the folder again adopts them: counted under it again, nothing decoded or embedded.
    status, _ = send("POST", f"{base}/folders", {"path": root})
    assert status == 201
    wait_for(lambda: folder_photos(base).get(root) == 2 and idle(base), 60, "the photos adopted")
    assert since_start(base)["embedded_images"] == embedded
    assert hits(base) == ids

    # purge=true removes them, once: the index is empty and stays so.
    status, listing = send("DELETE", f"{base}/folders?path={root}&purge=true")
    assert status == 200 and listing["folders"] == []
    assert hits(base) == {}
    wait_for(lambda: call(f"{base}/status")[1]["daemon"]["photos"]["indexed"] == 0, 30, "the status to count none")
    assert (library / "p1.jpg").exists()  # the files are never touched
