"""The places benchmark, at its ``--quick`` size, runs end to end and reports every figure within its goals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "places.py"


@pytest.mark.slow
def test_quick_places_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "places.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "index time (place+zone)" in done.stdout and "query reading" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    # Goals with a wide margin for a shared 2-core machine: 1 ms a photo, 5 ms a query at p95.
    assert result["per_photo"]["mean_ms"] < 1.0
    assert result["query"]["p95_ms"] < 5.0
    assert result["place_index"]["places"] > 100
    for name in ("load_scipy", "load_geocoder", "load_time_zones"):
        assert result[name]["s"] > 0
