"""The backends benchmark, at its ``--quick`` size, runs end to end and reports every figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "backends.py"
CORPUS = REPO.parent / "shared" / "corpus" / "photos"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared image corpus is not here")
def test_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "backends.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    for line in ("torch ", "onnx ", "onnx-1thread ", "onnx-int8 ", "BLIP int8 vs fp32", "export:"):
        assert line in done.stdout, line

    result = json.loads(out.read_text(encoding="utf-8"))
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
