"""The web page's search latency benchmark (bench/webpage.py) at its --quick size, in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser import chromium_path

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_webpage_benchmark_reports_enter_to_first_row(tmp_path: Path) -> None:
    chromium_path()  # skips without Chromium or Playwright, as the browser tests do; fails under CI
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "webpage.py"), "--quick", "--out", str(out), "--tmp", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    figures = result["enter_to_first_row"]
    assert figures["n"] == len(result["queries"]) == 5
    assert len(result["warm_up"]) == 2
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"] < 60_000
    assert result["photos"] == result["thumbnails"] == 2_000
    assert len(result["load_average_before"]) == 3
    for query in result["queries"]:
        # A whole first row, each thumbnail fetched from the server after Enter, after the search's answer.
        assert query["row"] >= 1 and query["row_fetched"] == query["row"], query
        assert 0 < query["search_ms"] <= query["rendered_ms"] <= query["ms"], query
