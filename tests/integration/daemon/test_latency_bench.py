"""The daemon benchmark runs end to end in its quick form and reports every figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_quick_latency_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "latency.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=380,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    latency, idle, reconcile = result["latency"], result["idle_headless"], result["reconcile"]
    assert 0 < latency["p50_s"] <= latency["p95_s"] < 30 and len(latency["all_s"]) == latency["drops"]
    assert latency["cold_after_idle_unload_s"] > 0
    assert 0 < idle["idle_rss_mb"] < idle["rss_while_loaded_with_children_mb"]
    assert reconcile["files"] == 2000 and reconcile["scan_s"] > 0
    assert "drop → searchable p50" in done.stdout
