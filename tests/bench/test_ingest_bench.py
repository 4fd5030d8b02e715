"""The ingest benchmark, at its ``--quick`` size, runs end to end and reports every figure."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fixtures.benchmarks import run_quick


@pytest.mark.slow
def test_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    done = run_quick("ingest.py", tmp_path / "ingest.json", "--tmp", str(tmp_path), timeout=170)
    for line in (
        "model bound",
        "decode bound",
        "pipeline / bound",
        "pipeline / sequential",
        "captions deferred: searchable",
        "captions inline",
        "cold start",
        "re-run",
        "peak RSS",
    ):
        assert line in done.stdout, line

    result = done.result
    files = sum(kind["count"] for kind in result["inputs"]["kinds"].values())
    assert set(result["inputs"]["kinds"]) == {"jpeg12", "jpeg24", "png", "dng_preview", "dng_raw"}

    pipeline = result["pipeline"]
    assert (pipeline["files"], pipeline["indexed"], pipeline["failed"]) == (files, files, 0)
    assert {"hash", "decode", "embed", "store"} <= set(pipeline["stage_busy_seconds"])
    # Each run's CPU is its own: a decode worker that died meanwhile would take its CPU time with it.
    assert all(run["cpu_ms_per_img"] > 0 for run in pipeline["runs"])
    assert result["decode_bound"]["files"] == files
    assert set(result["decode_bound"]["latency_ms_by_kind"]) == set(result["inputs"]["kinds"])
    # Raws with a preview are decoded from it; raws without one are demosaiced.
    for key in ("model_bound", "decode_bound", "bound", "pipeline", "sequential"):
        assert result[key]["img_s"] > 0, key
    assert result["bound"]["img_s"] <= min(result["model_bound"]["img_s"], result["decode_bound"]["img_s"])
    assert result["ratios"]["pipeline_vs_bound"] > 0 and result["ratios"]["pipeline_vs_sequential"] > 0

    old = result["old_system"]
    n = result["inputs"]["old_system_dngs"]
    for mode in ("deferred", "inline"):
        assert (old[mode]["files"], old[mode]["searchable"], old[mode]["captioned"]) == (n, n, n), mode
        assert 0 < old[mode]["searchable_s"] <= old[mode]["captioned_s"]
    assert old["old"]["total_s"] == 64.71

    rerun = result["rerun"]
    assert rerun["files"] == rerun["unchanged"] == files + result["inputs"]["duplicates"]
    assert result["duplicates"]["reused"] > 0
    assert result["cold_start"]["total_s"] > 0
    assert result["rss"]["ingest_peak_mb"] is None or result["rss"]["ingest_peak_mb"] > 0
    assert set(result["goals"]) == {
        "pipeline_vs_bound",
        "old_deferred_searchable_s",
        "old_inline_s",
        "peak_rss_mb",
        "rerun_files_per_s",
    }
