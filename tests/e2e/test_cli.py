"""``photoindex index|search|config`` as a user runs them, on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, write_config
from tests.integration.conftest import make_photo


def test_index_search_and_reindex(tmp_path: Path, run_cli: RunCli) -> None:
    config = write_config(tmp_path)
    lib = tmp_path / "lib"
    photos = [make_photo(lib / f"p{i}.jpg", seed=i) for i in range(5)]
    (lib / "half.jpg").write_bytes(photos[0].read_bytes()[:1500])

    code, first = run_cli("--config", str(config), "index", str(lib), "--json")
    assert code == 0
    assert (first["indexed"], first["failed"], first["failed_by_code"]) == (5, 1, {"ERR_TRUNCATED": 1})

    code, hits = run_cli("--config", str(config), "search", "--image", str(photos[3]), "--json", "--limit", "2")
    assert code == 0 and hits[0]["path"] == str(photos[3].resolve())
    code, hits = run_cli("--config", str(config), "search", "a red kite over a beach", "--json")
    assert code == 0 and len(hits) == 5 and all(-1.0 <= h["score"] <= 1.0 for h in hits)

    shutil.move(photos[1], lib / "renamed.jpg")
    code, second = run_cli("--config", str(config), "index", str(lib), "--json")
    assert (second["moved"], second["unchanged"], second["embedded_images"], second["decoded_images"]) == (1, 4, 0, 0)
    assert second["failed_by_code"] == {"ERR_TRUNCATED": 1} and second["new_failures"] == {}


def test_index_text_summary_and_configured_folders(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=1)
    monkeypatch.setenv("PHOTOINDEX_WATCH__FOLDERS", f'["{lib}"]')
    code, text = run_cli("--config", str(config), "index")
    assert code == 0
    assert "1 files: 1 indexed, 0 unchanged" in text


def test_usage_errors_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    config = write_config(tmp_path)
    code, out = run_cli("--config", str(config), "index", str(tmp_path / "missing"), "--json")
    assert code == 2 and out["error"] == "ERR_NOT_FOUND"
    code, out = run_cli("--config", str(config), "index", "--json")
    assert code == 2 and "no folders" in out["message"]
    code, out = run_cli("--config", str(config), "search", "--json")
    assert code == 2


def test_invalid_config_lists_every_problem_without_traceback(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nbatch_size = "x"\ncaptions = "always"\n[watch]\nfolders = 3\n', encoding="utf-8")
    code, out = run_cli("--config", str(bad), "config", "check", "--json")
    assert code == 2
    assert out["error"] == "ERR_CONFIG_INVALID" and len(out["problems"]) == 3
    assert {p.split(":")[0] for p in out["problems"]} == {"$.model.batch_size", "$.model.captions", "$.watch.folders"}
    code, _ = run_cli("--config", str(bad), "config", "check")
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_config_path_show_check(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path)
    code, out = run_cli("--config", str(config), "config", "path")
    assert code == 0 and out.strip() == str(config)
    monkeypatch.setenv("PHOTOINDEX_MODEL__BATCH_SIZE", "7")
    code, shown = run_cli("--config", str(config), "config", "show", "--json")
    assert code == 0 and shown["model"]["batch_size"] == 7
    assert shown["resolved_paths"]["store_dir"] == str(tmp_path / "data_dir" / "store")
    code, checked = run_cli("--config", str(config), "config", "check", "--json")
    assert code == 0 and checked["ok"] and checked["overrides"] == ["PHOTOINDEX_MODEL__BATCH_SIZE"]
    assert checked["collection"] == "photoindex_tiny_clip_random"


def test_models_unavailable_still_indexes_as_pending(tmp_path: Path, run_cli: RunCli) -> None:
    # No weights given and no hub: the model cannot load, everything else still works.
    config = write_config(tmp_path, clip="ViT-B-32", weights="", pretrained="laion2b_s34b_b79k")
    config.write_text(config.read_text().replace('weights = ""\n', ""), encoding="utf-8")
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=3)
    code, summary = run_cli("--config", str(config), "index", str(lib), "--json")
    assert code == 0
    assert summary["pending"] == 1 and "model.weights" in summary["models_unavailable"]


def test_real_entry_point(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=5)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "photoindex", "--config", str(config), "index", str(lib), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"indexed": 1' in done.stdout
