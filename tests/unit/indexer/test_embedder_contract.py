"""What every CLIP backend promises as an ``ImageEmbedder``: one set of tests, run on torch, ONNX fp32 and int8.

The ONNX towers are exported in-process from the same tiny random-weight
model, offline.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.fixtures.models import tiny_clip_config
from tests.fixtures.pixels import random_pixels

from photoindex.config import ModelSettings
from photoindex.indexer.models.backends import load_embedder
from photoindex.indexer.models.embedder import ImageEmbedder

# The same photo alone and within a batch. In fp32 the products are summed in another order
# (BLAS blocking): ~1e-7 on the cosine. int8 quantizes each MatMul's input with one scale for the
# whole batch, so a photo's vector moves a little with its batchmates: ~1e-4 on this tiny model.
# Two different images of this model are further apart than either bar (checked below).
ALONE_IN_A_BATCH = {"torch": 0.99999, "onnx": 0.99999, "int8": 0.999}
BACKENDS = {"torch": ("torch", "none"), "onnx": ("onnx", "none"), "int8": ("onnx", "int8")}


@pytest.fixture(scope="module", params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ImageEmbedder]:
    name = str(request.param)
    runtime, quantize = BACKENDS[name]
    folder = tmp_path_factory.mktemp(name)
    model = ModelSettings(
        clip=str(tiny_clip_config(folder / "tiny-clip.json")),
        weights="random",
        backend=runtime,  # type: ignore[arg-type]
        quantize=quantize,  # type: ignore[arg-type]
    )
    return name, load_embedder(model, folder / "cache")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def test_implements_the_protocol(backend: tuple[str, ImageEmbedder]) -> None:
    name, embedder = backend
    assert isinstance(embedder, ImageEmbedder)
    assert (embedder.dim, embedder.input_size, embedder.random_weights) == (32, 32, True)
    assert embedder.model_id.endswith("+int8") == (name == "int8")  # int8 vectors are another model's


def test_image_and_text_vectors_are_float32_unit_rows(backend: tuple[str, ImageEmbedder]) -> None:
    _, embedder = backend
    for vectors, n in ((embedder.embed_images(random_pixels(3)), 3), (embedder.embed_texts(["a cat", ""]), 2)):
        assert vectors.shape == (n, 32) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_same_input_gives_the_same_vector_and_different_ones_differ(backend: tuple[str, ImageEmbedder]) -> None:
    name, embedder = backend
    batch = random_pixels(4, seed=3)
    first, again = embedder.embed_images(batch), embedder.embed_images(batch)
    assert cosines(first, again).min() >= 0.99999
    assert float(first[0] @ first[1]) < ALONE_IN_A_BATCH[name]
    texts = embedder.embed_texts(["a red kite over a beach", "a dog in the snow"])
    assert float(texts[0] @ texts[1]) < ALONE_IN_A_BATCH[name]


def test_a_photo_alone_and_in_a_batch(backend: tuple[str, ImageEmbedder]) -> None:
    name, embedder = backend
    batch = random_pixels(5, seed=1)
    together = embedder.embed_images(batch)
    alone = np.concatenate([embedder.embed_images(batch[i : i + 1]) for i in range(len(batch))])
    assert cosines(together, alone).min() >= ALONE_IN_A_BATCH[name]


def test_empty_inputs_and_wrong_pixels(backend: tuple[str, ImageEmbedder]) -> None:
    _, embedder = backend
    assert embedder.embed_images(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, 32)
    assert embedder.embed_texts([]).shape == (0, 32)
    for pixels in (np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 32, 32, 3), np.float32)):
        with pytest.raises(ValueError, match="expected uint8"):
            embedder.embed_images(pixels)
