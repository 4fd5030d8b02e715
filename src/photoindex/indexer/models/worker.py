"""The one owner of the device: runs model jobs one at a time, most urgent first.

Queries (a text to embed for a search) jump ahead of indexing batches, which
go ahead of deferred captioning; a job already running is never interrupted,
so a query waits at most for the batch in flight. Models load lazily on the
first job (in the worker thread) and a failed load is remembered, so callers
learn at once that the models are unavailable instead of each paying for a
new attempt.

Indexing and background jobs run on a second thread at low CPU priority
(``priority.low_priority_executor``), still one job at a time; queries run on
the worker's own thread at normal priority. A model in another process hears
which kind a call is and runs it on a thread of the same priority there.

With an idle TTL the worker unloads the models once no job has come for that
long (closing them if they hold a process or a device) and loads them again
on the next job; a remembered load failure is forgotten then too, so a model
that was offline is tried again later.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import structlog

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.heap import trim_heap
from photoindex.indexer.priority import INDEX_THREAD_NAME, low_priority_executor

if TYPE_CHECKING:  # the model modules import torch; a process that only hosts the worker need not
    from photoindex.indexer.models.captioner import Captioner
    from photoindex.indexer.models.embedder import ImageEmbedder

log = structlog.get_logger(__name__)
T = TypeVar("T")

# CLIP ViT-B-32 fp32 runs at ~21 img/s on a 2-core CPU for batches of 8-32; 16 keeps latency low.
CPU_BATCH = 16
# Captions on a CPU go through the captioner this many images at a time. BLIP-base holds
# ~80 MB of activations per image of a batch (mostly the decoder's cache over 577 image
# tokens). Measured on 2 cores: 1.8 s per image one at a time, 1.7 in twos, 1.25 in fours
# (the decoder's weights are read once per step for the whole batch), 1.1 in sixteens for
# +950 MB. Fours keep indexing with both models loaded under 2.5 GiB; each part is its own
# job, so a query waits for one part at most.
CPU_CAPTION_BATCH = 4


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
    low: bool = field(compare=False, default=False)  # indexing work: run on the low-priority thread


_STOP = _Job(priority=99, seq=-1, run=lambda: None, future=Future())


class ModelWorker:
    """Serialises embedding and captioning on one thread; loads models on first use."""

    def __init__(
        self,
        load_embedder: Callable[[], ImageEmbedder],
        load_captioner: Callable[[], Captioner] | None = None,
        *,
        batch_size: int = 0,
        idle_unload_s: float = 0.0,
    ) -> None:
        self._load_embedder = load_embedder
        self._idle_unload_s = idle_unload_s  # 0: keep the models loaded
        self._last_used = time.monotonic()
        self.unloads = 0  # how many times idle models were unloaded
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
        self._low: ThreadPoolExecutor | None = None  # indexing jobs, at low priority
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
        if self._low is not None:
            self._low.shutdown(wait=False)
            self._low = None
        self._release_models()

    @property
    def alive(self) -> bool:
        """False only when the worker thread was started and has died."""
        return self._thread is None or self._thread.is_alive()

    @property
    def queued(self) -> int:
        """Jobs waiting for the worker (not counting the one running)."""
        return self._jobs.qsize()

    @property
    def idle_s(self) -> float:
        """Seconds since the last job finished."""
        return time.monotonic() - self._last_used

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
        return await self._submit(self._get_embedder, priority, low=False)

    async def ensure_captioner(self, priority: Priority = Priority.INDEX) -> Captioner:
        # Loads run at normal priority whoever asks: a query may be waiting for this one.
        return await self._submit(self._get_captioner, priority, low=False)

    async def embed_images(self, pixels: np.ndarray, priority: Priority = Priority.INDEX) -> np.ndarray:
        """Unit vectors for uint8 (N, S, S, 3) images; ModelError(ERR_EMBED) if inference fails."""

        def run() -> np.ndarray:
            embedder = self._get_embedder()
            try:
                return _inference(ErrorCode.EMBED, lambda: embedder.embed_images(_square(pixels, embedder.input_size)))
            finally:
                trim_heap()  # a batch's activations: hand them back rather than let the heap grow

        return await self._submit(run, priority)

    async def embed_texts(self, texts: Sequence[str], priority: Priority = Priority.QUERY) -> np.ndarray:
        def run() -> np.ndarray:
            embedder = self._get_embedder()
            return _inference(ErrorCode.EMBED, lambda: embedder.embed_texts(list(texts)))

        return await self._submit(run, priority)

    async def caption(self, pixels: np.ndarray, priority: Priority = Priority.INDEX) -> list[str]:
        """One caption per uint8 (N, S, S, 3) image; ModelError(ERR_CAPTION) if inference fails."""

        def run(part: np.ndarray) -> list[str]:
            captioner = self._get_captioner()
            try:
                return _inference(ErrorCode.CAPTION, lambda: captioner.caption(_square(part, captioner.input_size)))
            finally:
                trim_heap()

        step = len(pixels)
        if step > CPU_CAPTION_BATCH:
            captioner = await self._submit(self._get_captioner, priority, low=False)
            if getattr(getattr(captioner, "device", None), "type", None) == "cpu":
                step = CPU_CAPTION_BATCH
        captions: list[str] = []
        for start in range(0, len(pixels), max(1, step)):
            part = pixels[start : start + step]
            captions += await self._submit(functools.partial(run, part), priority)
        return captions

    async def _submit(self, run: Callable[[], T], priority: Priority, *, low: bool | None = None) -> T:
        self.start()
        future: Future[T] = Future()
        low = priority != Priority.QUERY if low is None else low
        self._jobs.put(_Job(int(priority), next(self._seq), run, future, low))
        return await asyncio.wrap_future(future)

    # -- worker thread -------------------------------------------------------
    def _loop(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_wait())
            except queue.Empty:
                if self.idle_s >= self._idle_unload_s:
                    self._unload_idle()
                continue
            if job is _STOP:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            started = time.perf_counter()
            try:
                job.future.set_result(self._run(job))
            except BaseException as exc:  # delivered to the awaiting task, never lost
                job.future.set_exception(exc)
            finally:
                self.busy_s += time.perf_counter() - started
                self._last_used = time.monotonic()

    def _run(self, job: _Job) -> object:
        """A query or a load runs here, at normal priority; indexing on the low-priority thread, waited for."""
        if not job.low:
            return job.run()
        if self._low is None:
            self._low = low_priority_executor(INDEX_THREAD_NAME)
        return self._low.submit(job.run).result()

    def _idle_wait(self) -> float | None:
        """How long the worker may wait for a job before the idle models are due to go."""
        loaded = self._embedder is not None or self._captioner is not None
        if self._idle_unload_s <= 0 or not loaded:
            return None
        return max(0.05, self._idle_unload_s - self.idle_s)

    def _unload_idle(self) -> None:
        kinds = [k for k, m in (("embedder", self._embedder), ("captioner", self._captioner)) if m is not None]
        self._release_models()
        # A load that failed (offline, say) is tried again by the next job.
        self._embedder_error = self._captioner_error = None
        self.unloads += 1
        log.info("models.unloaded", models=kinds, idle_s=round(self.idle_s, 1))

    def _release_models(self) -> None:
        models: list[object] = [self._embedder, self._captioner]
        self._embedder = self._captioner = None
        for model in models:
            close = getattr(model, "close", None)
            if close is not None:
                close()
        del models
        gc.collect()
        trim_heap()

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
    hinted = getattr(embedder, "preferred_batch_size", None)  # a proxy for a model in another process
    if configured <= 0 and isinstance(hinted, int) and hinted > 0:
        return hinted
    device = getattr(embedder, "device", None)
    measure = getattr(embedder, "bytes_per_image", None)
    if configured > 0 or device is None or measure is None or getattr(device, "type", "cpu") != "cuda":
        return configured or CPU_BATCH
    from photoindex.indexer.models.device import probe_batch_size

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
