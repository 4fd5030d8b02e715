"""ClipEmbedder on real (tiny, random) open_clip models; load_clip's sources and errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from structlog.testing import capture_logs
from tests.fixtures.models import TINY_CLIP_CONFIG, tiny_clip_config, tiny_clip_embedder, tiny_clip_model
from tests.fixtures.pixels import random_pixels

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.embedder import (
    DEFAULT_CLIP_MODEL,
    DEFAULT_CLIP_PRETRAINED,
    ClipEmbedder,
    ImageEmbedder,
    load_clip,
)
from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable

# float32 matrix products sum in an order that depends on the batch shape and the thread count
# (BLAS blocking): one text alone and in a batch of three differed by 4e-8. 1e-5 on unit vectors
# is far below any difference between two inputs (those are > 1e-4 here) and far above that noise.
BLAS_ATOL = 1e-5


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_implements_the_protocol(embedder: ClipEmbedder) -> None:
    assert isinstance(embedder, ImageEmbedder)
    assert (embedder.dim, embedder.input_size, embedder.random_weights) == (32, 32, True)


def test_image_vectors_are_float32_unit_rows(embedder: ClipEmbedder) -> None:
    assert_unit_rows(embedder.embed_images(random_pixels(3)), 3, embedder.dim)


def test_same_image_same_vector_and_different_images_differ(embedder: ClipEmbedder) -> None:
    batch = random_pixels(2)
    first, again = embedder.embed_images(batch), embedder.embed_images(batch)
    np.testing.assert_allclose(first, again, atol=BLAS_ATOL)
    assert float(first[0] @ first[1]) < 0.9999


def test_a_batch_gives_the_same_vectors_as_one_by_one(embedder: ClipEmbedder) -> None:
    batch = random_pixels(5, seed=1)
    together = embedder.embed_images(batch)
    alone = np.concatenate([embedder.embed_images(batch[i : i + 1]) for i in range(len(batch))])
    np.testing.assert_allclose(together, alone, atol=BLAS_ATOL)


def test_pixels_are_normalised_like_open_clip_does(embedder: ClipEmbedder) -> None:
    from open_clip import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    batch = random_pixels(2, seed=2)
    scaled = (batch.astype(np.float32) / 255 - OPENAI_DATASET_MEAN) / OPENAI_DATASET_STD
    model = tiny_clip_model()
    with torch.inference_mode():
        reference = model.encode_image(torch.from_numpy(scaled.transpose(0, 3, 1, 2)).float(), normalize=True)
    np.testing.assert_allclose(embedder.embed_images(batch), reference.numpy(), atol=1e-5)


def test_text_vectors_share_the_image_space(embedder: ClipEmbedder) -> None:
    texts = embedder.embed_texts(["a red kite over a beach", "a cat", ""])
    assert_unit_rows(texts, 3, embedder.dim)
    assert float(texts[0] @ texts[1]) < 0.9999
    np.testing.assert_allclose(embedder.embed_texts(["a cat"])[0], texts[1], atol=BLAS_ATOL)


def test_empty_inputs_give_empty_results(embedder: ClipEmbedder) -> None:
    assert embedder.embed_images(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, 32)
    assert embedder.embed_texts([]).shape == (0, 32)


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 32, 32, 3), np.float32), np.zeros((32, 32, 3), np.uint8)],
)
def test_rejects_pixels_of_the_wrong_shape_or_type(embedder: ClipEmbedder, pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected uint8 pixels"):
        embedder.embed_images(pixels)


def test_load_clip_random_weights_from_a_config_file(tmp_path: Path) -> None:
    config = tiny_clip_config(tmp_path)
    with capture_logs() as logs:
        loaded = load_clip(str(config), None, "random", "cpu")
    assert loaded.random_weights
    assert loaded.model_id.startswith("tiny-clip@") and loaded.model_id.endswith("/random")
    assert (loaded.dim, loaded.input_size) == (32, 32)
    # Said at info: opening the index warns once for the whole command (models.random_weights_index).
    assert [e["log_level"] for e in logs if e["event"] == "model.random_weights"] == ["info"]
    # Seeded: a restart gives the same vectors under the same model id.
    again = load_clip(str(config), None, "random", "cpu")
    assert again.model_id == loaded.model_id
    np.testing.assert_allclose(
        loaded.embed_images(random_pixels(2)), again.embed_images(random_pixels(2)), atol=BLAS_ATOL
    )


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_load_clip_weights_from_a_file(tmp_path: Path, suffix: str) -> None:
    model = tiny_clip_model(seed=7)
    weights = tmp_path / f"tiny{suffix}"
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(weights))
    else:
        torch.save(state, weights)
    loaded = load_clip(str(tiny_clip_config(tmp_path)), DEFAULT_CLIP_PRETRAINED, str(weights), "cpu")
    assert not loaded.random_weights
    assert "/file:" in loaded.model_id
    expected = tiny_clip_embedder(seed=7).embed_images(random_pixels(2))
    np.testing.assert_allclose(loaded.embed_images(random_pixels(2)), expected, atol=1e-6)


def test_load_clip_from_a_local_dir(tmp_path: Path) -> None:
    folder = tmp_path / "my-clip"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CONFIG}))
    from safetensors.torch import save_file

    save_file(
        {k: v.contiguous() for k, v in tiny_clip_model(seed=3).state_dict().items()},
        str(folder / "open_clip_model.safetensors"),
    )
    loaded = load_clip(f"local-dir:{folder}", DEFAULT_CLIP_PRETRAINED, None, "cpu")
    assert loaded.model_id == "local-dir:my-clip"
    np.testing.assert_allclose(
        loaded.embed_images(random_pixels(2)), tiny_clip_embedder(seed=3).embed_images(random_pixels(2)), atol=1e-6
    )


def test_model_id_names_architecture_and_weights(tmp_path: Path) -> None:
    config = tiny_clip_config(tmp_path / "a.json")
    random_id = load_clip(str(config), None, "random", "cpu").model_id
    assert load_clip(str(config), None, "random", "cpu").model_id == random_id
    weights = tmp_path / "w.pt"
    torch.save(tiny_clip_model().state_dict(), weights)
    file_id = load_clip(str(config), None, str(weights), "cpu").model_id
    assert file_id != random_id and file_id.split("/")[0] == random_id.split("/")[0]
    # Another architecture under the same file name is another model.
    wider = json.loads(config.read_text())
    wider["embed_dim"] = 48
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.json").write_text(json.dumps(wider))
    assert load_clip(str(other / "a.json"), None, "random", "cpu").model_id != random_id


def test_default_pretrained_tag_is_known_to_open_clip() -> None:
    ensure_torchvision_importable()
    import open_clip

    assert (DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED) in open_clip.list_pretrained()


@pytest.mark.usefixtures("offline_hub")
def test_offline_hub_download_fails_fast_naming_the_settings() -> None:
    ensure_torchvision_importable()
    import open_clip  # noqa: F401  # import time is not what this test measures

    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        load_clip(DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, None, "cpu")
    assert time.monotonic() - started < 5
    assert caught.value.code is ErrorCode.MODEL_UNAVAILABLE
    assert 'model.weights = "/path/to/file"' in caught.value.message
    assert 'model.clip = "local-dir:' in caught.value.message
    assert "HF_HUB_OFFLINE" in caught.value.message


@pytest.mark.parametrize(
    ("name", "pretrained", "weights", "says"),
    [
        ("No-Such-Model", None, "random", "not an open_clip model name"),
        (DEFAULT_CLIP_MODEL, "no_such_tag", None, "not a pretrained tag"),
        (DEFAULT_CLIP_MODEL, None, "/nonexistent/weights.pt", "not a readable"),
        ("local-dir:/nonexistent/folder", None, None, "no open_clip_config.json"),
    ],
)
def test_bad_settings_raise_model_error(name: str, pretrained: str | None, weights: str | None, says: str) -> None:
    with pytest.raises(ModelError, match=says):
        load_clip(name, pretrained, weights, "cpu")


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    weights = tmp_path / "w.pt"
    torch.save({"visual.conv1.weight": torch.zeros(3)}, weights)
    with pytest.raises(ModelError, match="does not fit"):
        load_clip(str(tiny_clip_config(tmp_path)), None, str(weights), "cpu")


@pytest.mark.slow
def test_real_vit_b_32_with_random_weights_embeds_224px_images() -> None:
    loaded = load_clip(DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, "random", "cpu")
    assert (loaded.model_id, loaded.dim, loaded.input_size) == ("ViT-B-32/random", 512, 224)
    assert_unit_rows(loaded.embed_images(random_pixels(2, size=224)), 2, 512)
    assert_unit_rows(loaded.embed_texts(["a red kite over a beach"]), 1, 512)
