"""The backends benchmark, at its ``--quick`` size, runs end to end and reports every figure."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fixtures.benchmarks import REPO, run_quick

CORPUS = REPO.parent / "shared" / "corpus" / "photos"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared image corpus is not here")
def test_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    done = run_quick("backends.py", tmp_path / "backends.json", timeout=300)
    for line in (
        "torch ",
        "onnx ",
        "onnx-1thread ",
        "onnx-int8 ",
        "BLIP int8 vs fp32",
        "export:",
        "text queries over HTTP",
        "models were unloaded",
        "best pipeline:",
        "goals",
    ):
        assert line in done.stdout, line

    result = done.result
    assert result["images"] == 24 and result["texts"] == 10
    for name in ("onnx", "onnx-1thread", "onnx-int8"):
        assert 0.9 < result["fidelity"][name]["cos_min"] <= 1.0 + 1e-6
        assert 0.0 <= result["fidelity"][name]["top10_overlap_mean"] <= 1.0
        assert result["speed"]["img_per_s_ratio_to_torch"][name] > 0
    assert result["fidelity"]["onnx"]["cos_min"] >= 0.9999  # fp32 export: the same vectors
    assert set(result["idle_rss_mib"]) == {"torch", "onnx", "onnx-int8"}
    assert all(mib > 50 for mib in result["idle_rss_mib"].values())
    captions = result["captions"]
    assert captions["images"] == 2 and captions["model_id"].endswith("+int8")
    assert 0.0 <= captions["word_agreement_mean"] <= 1.0 and captions["int8_time_ratio"] > 0

    http = result["http_text"]["by_variant"]
    assert set(http) == {"torch", "onnx", "onnx-int8"} and all(s["n"] == 10 and s["p95_ms"] > 0 for s in http.values())
    unloaded = result["unloaded_rss"]
    assert set(unloaded) == {"torch", "onnx", "int8"}
    # The daemon's side of the model worker imports neither runtime, whatever the backend.
    assert not any(r["imports_torch"] or r["imports_onnxruntime"] for r in unloaded.values())
    runs = result["pipeline"]["runs"]
    assert result["pipeline"]["order"] == ["torch", "onnx", "int8"]
    assert [runs[n]["config"]["backend"] for n in ("torch", "onnx", "int8")] == ["torch", "onnx", "onnx"]
    assert runs["int8"]["config"]["quantize"] == "int8" and runs["int8"]["config"]["clip"].endswith("+int8")
    assert all(run["pipeline_img_s"] > 0 and run["model_img_s"] > 0 for run in runs.values())
    assert result["pipeline"]["ratios"]["torch"]["pipeline"] == 1.0
    goals = {g["goal"]: g for g in result["goals"]}
    assert len(goals) == 13 and all(g["value"] is not None for g in goals.values())
