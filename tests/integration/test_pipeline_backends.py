"""`photoindex index` and `search` through each backend: fp32 ONNX shares torch's collection, int8 gets its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photoindex.config import ModelSettings, PathSettings, Settings
from photoindex.oneshot.indexing import index_folders
from photoindex.oneshot.searching import search_in_process
from tests.fixtures.models import tiny_clip_config

pytestmark = pytest.mark.timeout(120)


def settings(tmp_path: Path, **model: Any) -> Settings:
    clip = tiny_clip_config(tmp_path / "models" / "tiny-clip.json")
    return Settings(
        model=ModelSettings(clip=str(clip), weights="random", captions="off", decode_workers=1, **model),
        paths=PathSettings(
            data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"), state_dir=str(tmp_path / "state")
        ),
    )


def photos(root: Path, n: int) -> list[Path]:
    paths = []
    for seed in range(n):
        pixels = np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8)
        paths.append(root / f"p{seed}.jpg")
        root.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(paths[-1], "JPEG", quality=85)
    return paths


def test_switching_backends_reindexes_only_for_int8(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    files = photos(root, 4)
    by_torch = index_folders(settings(tmp_path, backend="torch"), [str(root)], captions=False)
    assert by_torch["indexed"] == 4
    assert not (tmp_path / "cache" / "onnx").exists()  # torch never exports

    # fp32 ONNX: the same vectors, so the same collection, and nothing to do.
    by_onnx = index_folders(settings(tmp_path, backend="onnx"), [str(root)], captions=False)
    assert by_onnx["collection"] == by_torch["collection"]
    assert (by_onnx["indexed"], by_onnx["unchanged"]) == (0, 4)

    # int8: other vectors, so another collection, filled from scratch.
    int8 = settings(tmp_path, quantize="int8")
    by_int8 = index_folders(int8, [str(root)], captions=False)
    assert by_int8["collection"] == by_torch["collection"] + "_int8"
    assert by_int8["model_id"].endswith("+int8") and by_int8["indexed"] == 4
    exported = sorted(p.name.rsplit("-", 1)[-1] for p in (tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert exported == ["image.onnx", "int8.onnx", "text.onnx"]

    # Searched with the int8 model, each photo finds itself first.
    for path in files:
        hits = search_in_process(int8, text=None, image=str(path), limit=1)
        assert Path(hits[0]["path"]).name == path.name
