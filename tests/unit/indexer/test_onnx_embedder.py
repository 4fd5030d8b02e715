"""CLIP in ONNX Runtime: tiny random-weight towers exported in-process, offline, checked against torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from structlog.testing import capture_logs
from tests.fixtures.models import tiny_clip_config, tiny_clip_embedder
from tests.fixtures.pixels import random_pixels

from photoindex.config import ModelSettings
from photoindex.errors import ModelError
from photoindex.indexer.models.backends import choose_backend, load_embedder
from photoindex.indexer.models.embedder import ClipEmbedder, ImageEmbedder
from photoindex.indexer.models.ids import clip_spec
from photoindex.indexer.models.onnx_embedder import OnnxClipEmbedder

# ORT and torch sum the same products in different orders (fused attention, other GEMM blocking):
# on unit vectors that moves the cosine by ~1e-7 here; 1e-4 is the brief's fidelity bar, and two
# different images of this tiny model are further apart than that (checked below).
FIDELITY = 0.9999


TEXTS = ["a red kite over a beach", "a dog in the snow", ""]


@pytest.fixture(scope="module")
def onnx_clip(embedder: ClipEmbedder, tmp_path_factory: pytest.TempPathFactory) -> OnnxClipEmbedder:
    return OnnxClipEmbedder.from_clip(embedder, tmp_path_factory.mktemp("cache"))


def exports(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "onnx").iterdir())


def test_implements_the_protocol_with_the_torch_models_id(onnx_clip: OnnxClipEmbedder, embedder: ClipEmbedder) -> None:
    assert isinstance(onnx_clip, ImageEmbedder)
    assert (onnx_clip.model_id, onnx_clip.dim, onnx_clip.input_size, onnx_clip.random_weights) == (
        embedder.model_id,
        embedder.dim,
        embedder.input_size,
        True,
    )


def test_vectors_match_torch(onnx_clip: OnnxClipEmbedder, embedder: ClipEmbedder) -> None:
    pixels = random_pixels(5)
    ours, theirs = onnx_clip.embed_images(pixels), embedder.embed_images(pixels)
    assert ours.dtype == np.float32 and ours.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.sum(ours * theirs, axis=1).min() >= FIDELITY
    assert (ours[0] @ ours[1]) < FIDELITY  # the bar tells images apart: it is not met trivially
    text_ours, text_theirs = onnx_clip.embed_texts(TEXTS), embedder.embed_texts(TEXTS)
    assert np.sum(text_ours * text_theirs, axis=1).min() >= FIDELITY
    # One image alone and in a batch: the batch axis is dynamic in the exported graph.
    assert float(onnx_clip.embed_images(pixels[2:3])[0] @ ours[2]) >= FIDELITY


def test_empty_and_wrong_inputs(onnx_clip: OnnxClipEmbedder) -> None:
    assert onnx_clip.embed_images(np.zeros((0, 32, 32, 3), dtype=np.uint8)).shape == (0, 32)
    assert onnx_clip.embed_texts([]).shape == (0, 32)
    with pytest.raises(ValueError, match="expected uint8"):
        onnx_clip.embed_images(np.zeros((1, 16, 16, 3), dtype=np.uint8))


def test_the_export_is_reused_and_redone_when_the_weights_change(tmp_path: Path) -> None:
    first = tiny_clip_embedder(seed=0)
    OnnxClipEmbedder.from_clip(first, tmp_path)
    files = exports(tmp_path)
    assert len(files) == 2 and all(name.startswith("tiny_clip_random-") for name in files)
    stamps = {name: (tmp_path / "onnx" / name).stat().st_mtime_ns for name in files}

    with capture_logs() as logs:
        again = OnnxClipEmbedder.from_clip(tiny_clip_embedder(seed=0), tmp_path)
    assert not [e for e in logs if e["event"] == "model.onnx_exported"]
    assert {name: (tmp_path / "onnx" / name).stat().st_mtime_ns for name in exports(tmp_path)} == stamps

    # Same model id, other weights (a checkpoint replaced under the same name): exported anew,
    # and the stale export goes.
    changed = tiny_clip_embedder(seed=1)
    with capture_logs() as logs:
        other = OnnxClipEmbedder.from_clip(changed, tmp_path)
    assert len([e for e in logs if e["event"] == "model.onnx_exported"]) == 2
    assert len(exports(tmp_path)) == 2 and set(exports(tmp_path)).isdisjoint(files)
    pixels = random_pixels(3)
    assert np.sum(other.embed_images(pixels) * changed.embed_images(pixels), axis=1).min() >= FIDELITY
    assert np.sum(other.embed_images(pixels) * again.embed_images(pixels), axis=1).max() < FIDELITY


def test_a_damaged_cache_file_is_exported_again(tmp_path: Path, embedder: ClipEmbedder) -> None:
    OnnxClipEmbedder.from_clip(embedder, tmp_path)
    image_file = next((tmp_path / "onnx").glob("*-image.onnx"))
    image_file.write_bytes(image_file.read_bytes()[:1000])  # as a full disk or an old bug might leave it
    repaired = OnnxClipEmbedder.from_clip(embedder, tmp_path)
    pixels = random_pixels(2)
    assert np.sum(repaired.embed_images(pixels) * embedder.embed_images(pixels), axis=1).min() >= FIDELITY


def test_an_interrupted_export_leaves_no_cache_file(
    tmp_path: Path, embedder: ClipEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(model: object, args: object, f: str, **kwargs: object) -> None:
        Path(f).write_bytes(b"\x08\x07partial")
        raise KeyboardInterrupt  # stands for a kill mid-write: nothing after it runs

    monkeypatch.setattr(torch.onnx, "export", half_written)
    with pytest.raises(KeyboardInterrupt):
        OnnxClipEmbedder.from_clip(embedder, tmp_path)
    assert exports(tmp_path) == []  # neither a truncated .onnx nor the temporary file

    def failing(model: object, args: object, f: str, **kwargs: object) -> None:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(torch.onnx, "export", failing)
    with pytest.raises(ModelError, match="could not export CLIP to ONNX"):
        OnnxClipEmbedder.from_clip(embedder, tmp_path)


def test_int8_is_close_but_another_model(tmp_path: Path, embedder: ClipEmbedder) -> None:
    int8 = OnnxClipEmbedder.from_clip(embedder, tmp_path, quantize="int8")
    assert int8.model_id == embedder.model_id + "+int8"
    pixels = random_pixels(4)
    cos = np.sum(int8.embed_images(pixels) * embedder.embed_images(pixels), axis=1)
    assert cos.min() > 0.99  # tiny random model: close, yet not the same vectors
    assert any(name.endswith("-image-int8.onnx") for name in exports(tmp_path))


def test_collections_int8_apart_fp32_backends_together(tmp_path: Path) -> None:
    config = str(tiny_clip_config(tmp_path))
    torch_spec = clip_spec(ModelSettings(clip=config, weights="random", backend="torch"))
    onnx_spec = clip_spec(ModelSettings(clip=config, weights="random", backend="onnx"))
    int8_spec = clip_spec(ModelSettings(clip=config, weights="random", quantize="int8"))
    assert torch_spec.collection == onnx_spec.collection
    assert int8_spec.collection != torch_spec.collection
    assert int8_spec.collection.endswith("_int8") and int8_spec.model_id.endswith("+int8")


def test_choose_backend() -> None:
    assert choose_backend("auto", "none") == "torch"  # fp32 ONNX measured no faster for images: README
    assert choose_backend("auto", "int8") == "onnx"
    assert choose_backend("torch", "none") == "torch"
    assert choose_backend("onnx", "none") == "onnx"


def test_load_embedder_builds_the_configured_backend(tmp_path: Path) -> None:
    config = str(tiny_clip_config(tmp_path))
    onnx = load_embedder(ModelSettings(clip=config, weights="random", backend="onnx"), tmp_path / "cache")
    plain = load_embedder(ModelSettings(clip=config, weights="random", backend="torch"), tmp_path / "cache")
    assert isinstance(onnx, OnnxClipEmbedder) and isinstance(plain, ClipEmbedder)
    assert onnx.model_id == plain.model_id
    int8 = load_embedder(ModelSettings(clip=config, weights="random", quantize="int8"), tmp_path / "cache")
    assert int8.model_id == plain.model_id + "+int8"  # as clip_spec names it: the +int8 collection
