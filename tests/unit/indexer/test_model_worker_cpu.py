"""The model worker's CPU-specific choices: captions in small parts, OpenMP threads that sleep when waiting."""

from __future__ import annotations

import os
from types import SimpleNamespace

import anyio
import numpy as np

from photoindex.indexer.models.worker import CPU_CAPTION_BATCH, ModelWorker


class _Captioner:
    model_id = "fake/random"
    input_size = 8
    random_weights = True

    def __init__(self, device: str) -> None:
        self.device = SimpleNamespace(type=device)
        self.calls: list[int] = []

    def caption(self, pixels: np.ndarray) -> list[str]:
        self.calls.append(len(pixels))
        return [f"photo {int(image[0, 0, 0])}" for image in pixels]


def _captions(captioner: _Captioner, n: int) -> list[str]:
    pixels = np.stack([np.full((8, 8, 3), i, dtype=np.uint8) for i in range(n)])
    worker = ModelWorker(lambda: None, lambda: captioner)  # type: ignore[arg-type, return-value]
    try:
        return anyio.run(worker.caption, pixels)
    finally:
        worker.close()


def test_cpu_captions_go_through_in_parts_and_keep_their_order() -> None:
    captioner = _Captioner("cpu")
    assert _captions(captioner, 5) == [f"photo {i}" for i in range(5)]
    assert captioner.calls and all(n <= CPU_CAPTION_BATCH for n in captioner.calls)
    assert sum(captioner.calls) == 5


def test_gpu_captions_keep_the_whole_batch() -> None:
    captioner = _Captioner("cuda")
    assert _captions(captioner, 5) == [f"photo {i}" for i in range(5)]
    assert captioner.calls == [5]


def test_openmp_threads_wait_passively_unless_told_otherwise() -> None:
    from photoindex.indexer.models.openmp import prefer_passive_waits

    prefer_passive_waits()
    assert os.environ.get("OMP_WAIT_POLICY")
