"""The web page's search latency benchmark (bench/webpage.py) at its --quick size, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import chromium_path
from tests.fixtures.benchmarks import run_quick

pytestmark = pytest.mark.slow


def test_webpage_benchmark_reports_enter_to_first_row(tmp_path: Path) -> None:
    chromium_path()  # skips without Chromium or Playwright, as the browser tests do; fails under CI
    result = run_quick("webpage.py", tmp_path / "result.json", "--tmp", str(tmp_path), timeout=240).result
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
