"""Real components for pipeline tests: tiny random-weight models, both store adapters, real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import VectorStore
from photoindex.indexer.writer import IndexWriter
from tests.fixtures.models import TINY_CLIP_CONFIG, tiny_blip_captioner, tiny_clip_embedder

TINY_DIM = TINY_CLIP_CONFIG["embed_dim"]
TINY_SIZE = TINY_CLIP_CONFIG["vision_cfg"]["image_size"]
HOST = "test-host"


def make_photo(path: Path, seed: int, size: tuple[int, int] = (320, 240)) -> Path:
    """A distinct photo-like JPEG: smooth colour gradients and a few shapes, seeded."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 6.28)
        channels.append(127 + 120 * np.sin(fx * x / w * 6.28 + phase) * np.cos(fy * y / h * 6.28))
    pixels = np.stack(channels, axis=-1)
    for _ in range(4):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(10, 60)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        pixels[mask] = rng.integers(0, 255, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """The embedded store, and the server adapter over qdrant-client's in-process mode."""
    if request.param == "edge":
        from photoindex.indexer.store import EdgeStore

        opened: VectorStore = EdgeStore.open(tmp_path / "store", "photoindex_test", TINY_DIM)
    else:
        from qdrant_client import QdrantClient

        from photoindex.indexer.store.server import ServerStore

        opened = ServerStore(QdrantClient(location=":memory:"), "photoindex_test", TINY_DIM)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def decoder() -> Iterator[DecodePool]:
    pool = DecodePool(2, timeout_s=60)
    yield pool
    pool.close()


def working_models(*, captions: bool = False) -> ModelWorker:
    return ModelWorker(tiny_clip_embedder, tiny_blip_captioner if captions else None)


def make_pipeline(
    store: VectorStore,
    decoder: DecodePool,
    models: ModelWorker,
    tmp_path: Path,
    *,
    captions: str = "off",
    state: IndexState | None = None,
    host: str = HOST,
    geo: GeoLookup | None = None,
) -> IndexPipeline:
    options = PipelineOptions(
        host_id=host,
        model_id="tiny-clip/random",
        model_size=TINY_SIZE,
        captions=captions,  # type: ignore[arg-type]
        batch_size=4,
        max_wait_s=0.02,
        decode_concurrency=3,
        thumbs_dir=tmp_path / "cache",
        geo=geo,
    )
    state = state or IndexState.load(store, host_id=host)
    writer = IndexWriter(store, state)
    return IndexPipeline(writer=writer, decoder=decoder, models=models, options=options)
