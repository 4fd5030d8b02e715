"""The places benchmark, at its ``--quick`` size, runs end to end and reports every figure within its goals."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fixtures.benchmarks import run_quick


@pytest.mark.slow
def test_quick_places_benchmark(tmp_path: Path) -> None:
    done = run_quick("places.py", tmp_path / "places.json", timeout=120)
    assert "index time (place+zone)" in done.stdout and "query reading" in done.stdout
    result = done.result
    # Goals with a wide margin for a shared 2-core machine: 1 ms a photo, 5 ms a query at p95.
    assert result["per_photo"]["mean_ms"] < 1.0
    assert result["query"]["p95_ms"] < 5.0
    assert result["place_index"]["places"] > 100
    for name in ("load_scipy", "load_geocoder", "load_time_zones"):
        assert result[name]["s"] > 0
