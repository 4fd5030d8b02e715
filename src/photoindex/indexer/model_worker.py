"""The one owner of the device: runs model jobs one at a time, most urgent first.

Queries (a text to embed for a search) jump ahead of indexing batches, which
go ahead of deferred captioning; a job already running is never interrupted,
so a query waits at most for the batch in flight. Models load lazily on the
first job (in the worker thread) and a failed load is remembered, so callers
learn at once that the models are unavailable instead of each paying for a
new attempt.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np
import structlog

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.captioner import Captioner
from photoindex.indexer.embedder import ImageEmbedder

log = structlog.get_logger(__name__)
T = TypeVar("T")

# CLIP ViT-B-32 fp32 runs at ~21 img/s on a 2-core CPU for batches of 8-32; 16 keeps latency low.
CPU_BATCH = 16


class Priority(IntEnum):
    QUERY = 0
    INDEX = 1
    BACKGROUND = 2


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    run: Callable[[], Any] = field(compare=False)
    future: Future[Any] = field(compare=False)


_STOP = _Job(priority=99, seq=-1, run=lambda: None, future=Future())


class ModelWorker:
    """Serialises embedding and captioning on one thread; loads models on first use."""

    def __init__(
        self,
        load_embedder: Callable[[], ImageEmbedder],
        load_captioner: Callable[[], Captioner] | None = None,
        *,
        batch_size: int = 0,
    ) -> None:
        self._load_embedder = load_embedder
        self._configured_batch = batch_size
        self._probed_batch: int | None = None
        self._load_captioner = load_captioner
        self._embedder: ImageEmbedder | None = None
        self._captioner: Captioner | None = None
        self._embedder_error: ModelError | None = None
        self._captioner_error: ModelError | None = None
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self.busy_s = 0.0  # time spent running jobs, for stage breakdowns

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="photoindex-models", daemon=True)
            self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def batch_size(self) -> int:
        """Images per indexing batch: configured, else probed from device memory once loaded."""
        if self._configured_batch > 0:
            return self._configured_batch
        return self._probed_batch or CPU_BATCH

    @property
    def embedder(self) -> ImageEmbedder | None:
        return self._embedder

    @property
    def captioner(self) -> Captioner | None:
        return self._captioner

    @property
    def embedder_error(self) -> ModelError | None:
        return self._embedder_error

    # -- jobs ----------------------------------------------------------------
    async def ensure_embedder(self, priority: Priority = Priority.INDEX) -> ImageEmbedder:
        """Load the embedder if needed; raises ModelError when it cannot be loaded."""
        return await self._submit(self._get_embedder, priority)

    async def ensure_captioner(self, priority: Priority = Priority.INDEX) -> Captioner:
        return await self._submit(self._get_captioner, priority)

    async def embed_images(self, pixels: np.ndarray, priority: Priority = Priority.INDEX) -> np.ndarray:
        """Unit vectors for uint8 (N, S, S, 3) images; ModelError(ERR_EMBED) if inference fails."""

        def run() -> np.ndarray:
            embedder = self._get_embedder()
            return _inference(ErrorCode.EMBED, lambda: embedder.embed_images(_square(pixels, embedder.input_size)))

        return await self._submit(run, priority)

    async def embed_texts(self, texts: Sequence[str], priority: Priority = Priority.QUERY) -> np.ndarray:
        def run() -> np.ndarray:
            embedder = self._get_embedder()
            return _inference(ErrorCode.EMBED, lambda: embedder.embed_texts(list(texts)))

        return await self._submit(run, priority)

    async def caption(self, pixels: np.ndarray, priority: Priority = Priority.INDEX) -> list[str]:
        """One caption per uint8 (N, S, S, 3) image; ModelError(ERR_CAPTION) if inference fails."""

        def run() -> list[str]:
            captioner = self._get_captioner()
            return _inference(ErrorCode.CAPTION, lambda: captioner.caption(_square(pixels, captioner.input_size)))

        return await self._submit(run, priority)

    async def _submit(self, run: Callable[[], T], priority: Priority) -> T:
        self.start()
        future: Future[T] = Future()
        self._jobs.put(_Job(int(priority), next(self._seq), run, future))
        return await asyncio.wrap_future(future)

    # -- worker thread -------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            started = time.perf_counter()
            try:
                job.future.set_result(job.run())
            except BaseException as exc:  # delivered to the awaiting task, never lost
                job.future.set_exception(exc)
            finally:
                self.busy_s += time.perf_counter() - started

    def _get_embedder(self) -> ImageEmbedder:
        if self._embedder is None:
            if self._embedder_error is not None:
                raise self._embedder_error
            self._embedder = _load("embedder", self._load_embedder, self._remember_embedder_error)
            self._probed_batch = _probe_batch(self._embedder, self._configured_batch)
        return self._embedder

    def _get_captioner(self) -> Captioner:
        if self._load_captioner is None:
            raise ModelError("captions are off", code=ErrorCode.MODEL_UNAVAILABLE)
        if self._captioner is None:
            if self._captioner_error is not None:
                raise self._captioner_error
            self._captioner = _load("captioner", self._load_captioner, self._remember_captioner_error)
        return self._captioner

    def _remember_embedder_error(self, error: ModelError) -> None:
        self._embedder_error = error

    def _remember_captioner_error(self, error: ModelError) -> None:
        self._captioner_error = error


def _probe_batch(embedder: ImageEmbedder, configured: int) -> int:
    """On CUDA, size batches from free memory; elsewhere the CPU default."""
    device = getattr(embedder, "device", None)
    measure = getattr(embedder, "bytes_per_image", None)
    if configured > 0 or device is None or measure is None or getattr(device, "type", "cpu") != "cuda":
        return configured or CPU_BATCH
    from photoindex.indexer.device import probe_batch_size

    size = probe_batch_size(device, measure(), configured)
    log.info("models.batch_size_probed", batch_size=size)
    return size


def _inference(code: ErrorCode, run: Callable[[], T]) -> T:
    """Model failures on a batch (out of memory, bad input) become ModelError with ``code``."""
    try:
        return run()
    except ModelError:
        raise
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise ModelError(f"inference failed: {exc}", code=code) from exc


def _square(pixels: np.ndarray, side: int) -> np.ndarray:
    """Resize a batch of square images when the model wants another side (rare: a custom model)."""
    if pixels.shape[1] == side and pixels.shape[2] == side:
        return pixels
    from PIL import Image

    resized = [np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC)) for image in pixels]
    return np.stack(resized)


def _load(kind: str, loader: Callable[[], T], remember: Callable[[ModelError], None]) -> T:
    started = time.perf_counter()
    try:
        model = loader()
    except ModelError as exc:
        remember(exc)
        log.error("models.load_failed", model=kind, code=str(exc.code), error=exc.message)
        raise
    except (OSError, RuntimeError, ValueError, MemoryError) as exc:
        error = ModelError(f"could not load the {kind}: {exc}", code=ErrorCode.MODEL_UNAVAILABLE)
        remember(error)
        log.error("models.load_failed", model=kind, code=str(error.code), error=str(exc))
        raise error from exc
    log.info("models.loaded", model=kind, seconds=round(time.perf_counter() - started, 2))
    return model
