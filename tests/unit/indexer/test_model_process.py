"""Models in a child process: the proxies embed like the real thing, survive a dead child, and let it go."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from tests.fixtures.models import TINY_CLIP_CONFIG, tiny_clip_config

from photoindex.config import ModelSettings
from photoindex.errors import ModelError
from photoindex.indexer.models.process import ModelProcess, RemoteEmbedder
from photoindex.indexer.models.worker import ModelWorker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_remote_embedder_embeds_restarts_a_killed_child_and_stops_when_released(tmp_path: Path) -> None:
    model = ModelSettings(clip=str(tiny_clip_config(tmp_path / "tiny.json")), weights="random", captions="off")
    host = ModelProcess(model, tmp_path / "cache")
    embedder = RemoteEmbedder(host)
    try:
        side = TINY_CLIP_CONFIG["vision_cfg"]["image_size"]
        assert (embedder.dim, embedder.input_size, embedder.random_weights) == (32, side, True)
        pixels = np.random.default_rng(0).integers(0, 255, (3, side, side, 3), dtype=np.uint8)
        first = embedder.embed_images(pixels)
        assert first.shape == (3, 32) and np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
        assert embedder.embed_texts(["a kite"]).shape == (1, 32)
        with pytest.raises(ModelError, match="expected uint8"):
            embedder.embed_images(np.zeros((1, 5, 5, 3), dtype=np.float32))

        assert host.pid is not None
        os.kill(host.pid, signal.SIGKILL)  # the child dies (out of memory, say): the next call brings it back
        assert np.allclose(embedder.embed_images(pixels), first, atol=1e-5)  # seeded random weights: same vectors
    finally:
        embedder.close()
    assert host.pid is None


def test_worker_unloads_idle_remote_models_and_a_failed_load_is_an_error(tmp_path: Path) -> None:
    import anyio

    model = ModelSettings(clip=str(tiny_clip_config(tmp_path / "tiny.json")), weights="random", captions="off")
    host = ModelProcess(model, tmp_path / "cache")
    worker = ModelWorker(lambda: RemoteEmbedder(host), idle_unload_s=1.0)

    async def scenario() -> None:
        await worker.embed_texts(["x"])
        assert host.pid is not None
        with anyio.fail_after(20):
            while worker.unloads == 0:
                await anyio.sleep(0.1)
        assert host.pid is None and worker.embedder is None  # the child ended with the unload
        await worker.embed_texts(["y"])  # and comes back on demand

    try:
        anyio.run(scenario)
    finally:
        worker.close()
    assert host.pid is None

    broken = ModelProcess(ModelSettings(clip=str(tmp_path / "missing.json"), weights="random"), tmp_path / "cache")
    with pytest.raises(ModelError):
        RemoteEmbedder(broken)
    broken.stop()


def test_after_a_kill_no_child_starts_again_and_calls_fail(tmp_path: Path) -> None:
    model = ModelSettings(clip=str(tiny_clip_config(tmp_path / "tiny.json")), weights="random", captions="off")
    host = ModelProcess(model, tmp_path / "cache")
    embedder = RemoteEmbedder(host)
    side = TINY_CLIP_CONFIG["vision_cfg"]["image_size"]
    pixels = np.zeros((1, side, side, 3), dtype=np.uint8)
    try:
        embedder.embed_images(pixels)
        host.kill()  # the daemon is shutting down: a batch in flight or after must not bring a child back
        with pytest.raises(ModelError, match="model process"):
            embedder.embed_images(pixels)
        assert host.pid is None
    finally:
        embedder.close()
