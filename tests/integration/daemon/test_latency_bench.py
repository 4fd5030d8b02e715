"""The daemon benchmark runs end to end in its quick form and reports every figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.benchmarks import run_quick


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_quick_latency_benchmark_reports_every_figure(tmp_path: Path) -> None:
    done = run_quick("latency.py", tmp_path / "latency.json", timeout=380)
    result = done.result
    latency, idle, reconcile = result["latency"], result["idle_headless"], result["reconcile"]
    assert 0 < latency["p50_s"] <= latency["p95_s"] < 30 and len(latency["all_s"]) == latency["drops"]
    assert latency["cold_after_idle_unload_s"] > 0
    assert 0 < idle["idle_rss_mb"] < idle["rss_while_loaded_with_children_mb"]
    assert reconcile["files"] == 2000 and reconcile["scan_s"] > 0
    assert "drop → searchable p50" in done.stdout
