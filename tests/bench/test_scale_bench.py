"""The scale benchmark runs end to end in its quick form (20,000 photos) and measures every row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.fixtures.benchmarks import REPO, run_quick


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_quick_scale_benchmark_measures_every_row(tmp_path: Path) -> None:
    work = tmp_path / "work"
    done = run_quick("scale.py", tmp_path / "scale.json", "--work", str(work), timeout=1000)
    result = done.result
    store, serve = result["store"], result["serve"]
    assert result["photos"] == 20_000 and result["build"]["photos"] == 20_000
    assert 0 < store["search_unfiltered_p50_ms"] <= store["search_unfiltered_p95_ms"]
    assert 0.0 <= store["recall_at_10"] <= 1.0 and store["open_s"] > 0
    assert result["index_build"]["indexed"] >= 20_000 and result["index_build"]["ticks"] > 0
    assert 0 < serve["ready_s"] < serve["reconcile"]["done_after_start_s"]
    assert serve["text_query"]["answers"] == 30 and serve["text_query_filtered"]["answers"] == 30
    assert serve["drop_to_searchable"]["drops"] == 5
    duplicates = serve["duplicates"]
    assert duplicates["exact_groups"] > 0 and duplicates["exact_first_s"] is not None
    assert duplicates["exact_after_new_photo_s"] is not None and duplicates["near_after_new_photo_s"] is not None
    assert {"first_map_s", "worker_peak_rss_mb"} <= serve["map"].keys()
    assert serve["api_stall"]["health_answers"] > 0 and serve["peak_rss_mb"] > 0
    assert serve["idle"]["anon_mb"] > 0 and result["reindex"]["points_per_s"] > 0
    assert sum(result["disk_bytes_per_photo"].values()) > 0
    for row in ("recall@10 against exact search", "drop → searchable", "peak RSS of the process tree"):
        assert row in done.stdout

    # The library it left is what bench/search_params.py compares search settings on.
    settings = subprocess.run(
        [sys.executable, str(REPO / "bench" / "search_params.py"), str(work), "--n", "20000", "--queries", "10"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert settings.returncode == 0, settings.stdout[-2000:] + settings.stderr[-2000:]
    recalls = [
        float(line.split("recall@10 ")[1].split()[0]) for line in settings.stdout.splitlines() if "recall@10" in line
    ]
    assert len(recalls) == 5 and all(0.0 <= r <= 1.0 for r in recalls)
