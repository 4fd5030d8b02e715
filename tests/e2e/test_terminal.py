"""What a person at a terminal sees: the real command on a pseudo-terminal, read back as a screen.

A "healthy CPU run" uses models as a user's would be set up, small: a CLIP
checkpoint file (``model.weights = "/path/file.pt"``) and a BLIP folder with
weights. ``model.weights = "random"`` is a test and benchmark setting whose
vectors mean nothing, so it is not healthy: it warns, once per command, and
that one line is all it adds (checked separately).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.e2e.conftest import write_config
from tests.e2e.terminal import (
    BAR_LINE,
    COLUMNS,
    LOG_LINE,
    SUMMARY_DETAIL,
    SUMMARY_LINE,
    TerminalRun,
    run_in_terminal,
)
from tests.fixtures.models import tiny_blip_dir, tiny_clip_model
from tests.integration.conftest import make_photo

pytestmark = pytest.mark.slow


def terminal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOINDEX_") and k not in ("COLUMNS", "LINES")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra})
    return env


def photoindex(*args: str) -> list[str]:
    return [sys.executable, "-m", "photoindex", *args]


def healthy_config(tmp_path: Path) -> Path:
    """Tiny models the way a user's are given: a CLIP checkpoint file, a BLIP folder with weights."""
    checkpoint = tmp_path / "models" / "tiny-clip.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    torch.save(tiny_clip_model().state_dict(), checkpoint)
    blip = tiny_blip_dir(tmp_path / "models" / "blip-weights", with_weights=True)
    return write_config(tmp_path, weights=str(checkpoint), caption_model=str(blip), captions="deferred")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    for i in range(6):
        make_photo(lib / f"p{i}.jpg", seed=i)
    return lib


def assert_one_format(run: TerminalRun) -> None:
    """Every line is a log line in the one format, a progress bar, or the summary (and its indented lines)."""
    lines = run.lines
    summary_at = next((i for i, line in enumerate(lines) if SUMMARY_LINE.match(line)), len(lines))
    odd = [
        line
        for i, line in enumerate(lines)
        if not (LOG_LINE.match(line) or BAR_LINE.match(line) or (i > summary_at and SUMMARY_DETAIL.match(line)))
        and i != summary_at
    ]
    assert not odd, "\n".join(odd)


def assert_bars_whole(run: TerminalRun, *labels: str) -> None:
    """Each bar is drawn on exactly one row of the screen, whole: nothing written into it or below a broken copy."""
    for label in labels:
        rows = run.bar_rows(label)
        assert len(rows) == 1, run.screen
        assert BAR_LINE.match(rows[0]) and len(rows[0]) <= COLUMNS, rows[0]
        assert "100%" in rows[0]
    assert not [row for row in run.screen if "file/s]" in row and not BAR_LINE.match(row)]


def test_healthy_run_shows_whole_bars_no_warning_and_the_rate(tmp_path: Path, library: Path) -> None:
    config = healthy_config(tmp_path)
    run = run_in_terminal(photoindex("--config", str(config), "index", str(library)), env=terminal_env())
    assert run.returncode == 0, run.screen
    assert_bars_whole(run, "indexing", "captioning")
    assert not run.log_lines(), run.lines  # nothing to act on: no warning, no error
    assert_one_format(run)
    summary = [row for row in run.screen if SUMMARY_LINE.match(row)]
    assert len(summary) == 1 and "6 indexed" in summary[0] and "files/s)" in summary[0], run.screen
    assert "busy time per stage" not in "\n".join(run.screen)


def test_verbose_log_lines_pass_above_the_bar_in_one_format(tmp_path: Path, library: Path) -> None:
    config = healthy_config(tmp_path)
    run = run_in_terminal(photoindex("--config", str(config), "index", str(library), "-v"), env=terminal_env())
    assert run.returncode == 0, run.screen
    text = run.raw.decode("utf-8", "replace")
    first_bar = text.index("indexing:")
    # Lines were written while the bar was on screen (the model loads after the bar is drawn) ...
    assert "models.loaded" in text[first_bar:]
    # ... and the bar stayed whole, on one row, with every line above it.
    assert_bars_whole(run, "indexing", "captioning")
    assert_one_format(run)
    assert run.log_lines("debug") and not run.log_lines("warning") and not run.log_lines("error")
    # The libraries speak through the same renderer, named: open_clip logs through the root logger.
    assert any("[open_clip]" in line for line in run.log_lines("info")), run.lines
    assert any("[photoindex.indexer.models.torchvision_compat]" in line for line in run.log_lines("debug")) or (
        "torchvision.ops_unavailable" not in text  # a torchvision that matches torch has nothing to report
    )
    assert any(row.startswith("  busy time per stage: ") and "embed" in row for row in run.screen), run.screen


def test_random_weights_warn_once_and_nothing_else(tmp_path: Path, library: Path) -> None:
    config = write_config(tmp_path)  # weights = "random"
    run = run_in_terminal(photoindex("--config", str(config), "index", str(library)), env=terminal_env())
    assert run.returncode == 0, run.screen
    warnings = run.log_lines("warning")
    assert len(warnings) == 1 and "models.random_weights_index" in warnings[0], run.lines
    assert not any("No pretrained weights loaded" in line for line in run.lines)
    assert_bars_whole(run, "indexing")
    assert_one_format(run)


def test_quiet_shows_only_the_result(tmp_path: Path, library: Path) -> None:
    config = write_config(tmp_path)
    run = run_in_terminal(photoindex("--config", str(config), "-q", "index", str(library)), env=terminal_env())
    assert run.returncode == 0
    assert len(run.screen) == 1 and SUMMARY_LINE.match(run.screen[0]), run.screen


def test_search_without_a_daemon_says_once_how_to_make_it_instant(tmp_path: Path, library: Path) -> None:
    config = write_config(tmp_path)
    env = terminal_env(PHOTOINDEX_API__PORT=str(_closed_port_number()))
    assert run_in_terminal(photoindex("--config", str(config), "-q", "index", str(library)), env=env).returncode == 0
    run = run_in_terminal(photoindex("--config", str(config), "search", "a red kite"), env=env)
    assert run.returncode == 0, run.screen
    hints = [line for line in run.lines if "photoindex serve" in line]
    assert len(hints) == 1 and "instant" in hints[0] and "service install" in hints[0], run.lines
    assert sum(1 for row in run.screen if row.endswith(".jpg")) == 6

    quiet = run_in_terminal(photoindex("--config", str(config), "search", "a red kite", "-q"), env=env)
    assert quiet.returncode == 0 and not [line for line in quiet.lines if "photoindex serve" in line]


# -- the hub out of reach ----------------------------------------------------------------------


@pytest.fixture
def unreachable_hub() -> Iterator[str]:
    """An endpoint on loopback that refuses at once: a port bound but never listened on, held for the test."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()


def test_an_unreachable_hub_is_said_once_and_photos_wait_as_pending(
    tmp_path: Path, library: Path, unreachable_hub: str
) -> None:
    # The default model and its pretrained tag: weights that need a download, not in this (empty) cache.
    config = write_config(tmp_path, clip="ViT-B-32", pretrained="laion2b_s34b_b79k", captions="deferred")
    config.write_text(config.read_text().replace('weights = "random"\n', ""), encoding="utf-8")
    env = terminal_env(HF_ENDPOINT=unreachable_hub, HF_HOME=str(tmp_path / "hf-home"))
    del env["HF_HUB_OFFLINE"], env["TRANSFORMERS_OFFLINE"]
    run = run_in_terminal(photoindex("--config", str(config), "index", str(library)), env=env)
    assert run.returncode == 0, run.screen
    # One line says what happened and what to set ...
    about_hub = [line for line in run.lines if unreachable_hub in line or "huggingface" in line.lower()]
    assert len(about_hub) == 1, run.lines
    assert "[error" in about_hub[0] and "cannot be reached" in about_hub[0] and "model.weights" in about_hub[0]
    # ... after one attempt: huggingface_hub logs each retry at warning, and none came.
    assert not run.log_lines("warning"), run.lines
    assert not [line for line in run.lines if "Retrying" in line or "thrown while requesting" in line]
    # No line twice, every line in the one format, and the photos are kept as pending.
    assert [line for line, n in Counter(run.lines).items() if n > 1] == []
    assert_one_format(run)
    assert_bars_whole(run, "indexing")
    summary = next(row for row in run.screen if SUMMARY_LINE.match(row))
    assert "6 pending" in summary and "0 indexed" in summary


def test_an_unreachable_hub_keeps_json_output_clean(tmp_path: Path, library: Path, unreachable_hub: str) -> None:
    config = write_config(tmp_path, clip="ViT-B-32", pretrained="laion2b_s34b_b79k")
    config.write_text(config.read_text().replace('weights = "random"\n', ""), encoding="utf-8")
    env = terminal_env(HF_ENDPOINT=unreachable_hub, HF_HOME=str(tmp_path / "hf-home"))
    del env["HF_HUB_OFFLINE"], env["TRANSFORMERS_OFFLINE"]
    import subprocess

    done = subprocess.run(
        photoindex("--config", str(config), "index", str(library), "--json"),
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["pending"] == 6 and "cannot be reached" in summary["models_unavailable"]
    errors = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["event"], e["level"]) for e in errors] == [("models.load_failed", "error")], done.stderr


def _closed_port_number() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
