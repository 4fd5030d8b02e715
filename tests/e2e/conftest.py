"""Helpers to run the real ``photoindex`` command on temp libraries with tiny models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from photoindex.cli import main
from tests.fixtures.models import tiny_blip_dir, tiny_clip_config


def write_config(tmp_path: Path, **model: str) -> Path:
    """A config using tiny random-weight models and private data/cache/state folders."""
    models = tmp_path / "models"
    values = {
        "clip": str(tiny_clip_config(models / "tiny-clip.json")),
        "weights": "random",
        "caption_model": str(tiny_blip_dir(models / "blip")),
        "captions": "off",
        **model,
    }
    lines = ["[model]", *(f"{k} = {json.dumps(v)}" for k, v in values.items()), "[paths]"]
    lines += [f'{name} = "{tmp_path / name}"' for name in ("data_dir", "cache_dir", "state_dir")]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


RunCli = Callable[..., tuple[int, Any]]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``photoindex ARGS`` in-process; returns (exit code, parsed JSON stdout or raw text)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in [n for n in __import__("os").environ if n.startswith("PHOTOINDEX_")]:
        monkeypatch.delenv(name)

    def run(*args: str) -> tuple[int, Any]:
        capsys.readouterr()
        code = main(["--log-level", "error", *args])
        out = capsys.readouterr().out
        try:
            return code, json.loads(out)
        except ValueError:
            return code, out

    return run
