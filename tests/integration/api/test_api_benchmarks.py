"""The duplicate-quality and query-latency benchmarks, at their --quick sizes, as tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.benchmarks import run_quick

pytestmark = pytest.mark.slow


def run(script: str, tmp_path: Path, *extra: str) -> dict[str, object]:
    return run_quick(script, tmp_path / "result.json", "--tmp", str(tmp_path), *extra, timeout=280).result


def test_duplicates_on_corpus_copies(tmp_path: Path, corpus_dir: Path) -> None:
    result = run("duplicates.py", tmp_path, "--corpus", str(corpus_dir))
    exact = result["exact"]
    near = result[f"near_k{result['default_k']}"]
    assert isinstance(exact, dict) and isinstance(near, dict)
    assert (exact["precision"], exact["recall"]) == (1.0, 1.0)
    # The set holds re-shots of one scene as hard negatives, which verification keeps apart
    # (precision at its goal). Recall's 0.95 goal holds on the whole corpus (0.962); on these 16
    # sources it measures 0.925, 6 of 16 crops missing their photo, so 0.9 guards against a regression.
    assert near["precision"] >= 0.99 and near["recall"] >= 0.9, near
    assert result["failed_files"] == 0


def test_query_benchmark_reports_every_figure(tmp_path: Path) -> None:
    result = run("query.py", tmp_path)
    sizes = result["sizes"]
    assert isinstance(sizes, dict)
    (entry,) = sizes.values()
    assert set(entry["api"]) == {"text", "text_cached", "text_filtered", "image_upload", "similar"}
    assert set(entry["store"]) == {"vector", "vector_filtered"}
    assert entry["during_backlog"]["n"] >= 1
