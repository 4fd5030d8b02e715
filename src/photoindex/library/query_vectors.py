"""Query embeddings: text (with a small cache) and images, at query priority, without hanging on a model load.

A text query jumps ahead of indexing batches in the model worker, so it waits
at most for the batch in flight. When the model is not loaded (first query
after start, or after the daemon unloaded it when idle) the load starts, or
the one already running is joined, and the query waits for it: a query never
fails because a model is loading. Only a load that fails, or one that takes
absurdly long (``LOAD_WAIT_S``), makes the caller get an error:
``ModelsLoading`` (the API answers 503 with Retry-After) while the load
carries on, so a retry finds the model ready.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.worker import ModelWorker, Priority

if TYPE_CHECKING:  # the model modules import torch, which answering from the cache never needs
    from photoindex.indexer.models.embedder import ImageEmbedder

TEXT_CACHE_SIZE = 256
# How long a query waits for a model that is loading before answering "try again". CLIP
# ViT-B-32 loads in ~4.4 s on a 2-core CPU (~10 s when the machine is busy); a disk that
# spun down or a slow network home can add more. A minute is past anything but a stuck load.
LOAD_WAIT_S = 60.0
RETRY_AFTER_S = 5

ModelState = Literal["loaded", "loading", "not_loaded", "failed"]


class ModelsLoading(ModelError):
    """The embedding model is being loaded; the query can be retried shortly."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the embedding model is loading; try again shortly", code=ErrorCode.MODEL_UNAVAILABLE)
        self.retry_after_s = retry_after_s


class QueryEncoder:
    """Turns query texts and images into unit vectors through the shared model worker."""

    def __init__(
        self,
        models: ModelWorker,
        *,
        cache_size: int = TEXT_CACHE_SIZE,
        load_wait_s: float = LOAD_WAIT_S,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        self._models = models
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._load_wait_s = load_wait_s
        self._retry_after_s = retry_after_s
        self._loading: asyncio.Future[ImageEmbedder] | None = None
        self.cache_hits = 0

    def state(self) -> ModelState:
        if self._models.embedder is not None:
            return "loaded"
        if self._models.embedder_error is not None:
            return "failed"
        if self._loading is not None and not self._loading.done():
            return "loading"
        return "not_loaded"

    async def ready(self) -> None:
        """Return once the embedder is loaded; raise ``ModelsLoading`` or the load's ``ModelError``."""
        if self._models.embedder is not None:
            return
        error = self._models.embedder_error
        if error is not None:
            raise ModelError(error.message, code=error.code)
        loading = self._loading
        if loading is None or loading.done():
            loading = self._loading = asyncio.ensure_future(self._models.ensure_embedder(Priority.QUERY))
        done, _pending = await asyncio.wait({loading}, timeout=self._load_wait_s)
        if not done:
            raise ModelsLoading(self._retry_after_s)
        exc = loading.exception()
        if exc is not None:
            raise exc if isinstance(exc, ModelError) else ModelError(str(exc))

    async def texts(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text; repeated texts come from the cache."""
        keys = [" ".join(t.split()) for t in texts]
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        self.cache_hits += len(keys) - len(missing)
        if missing:
            await self.ready()
            vectors = await self._models.embed_texts(missing, Priority.QUERY)
            for key, vector in zip(missing, vectors, strict=True):
                self._remember(key, np.asarray(vector, dtype=np.float32))
        for key in keys:
            self._cache.move_to_end(key)
        return np.stack([self._cache[k] for k in keys])

    async def image(self, pixels: np.ndarray) -> np.ndarray:
        """The unit vector of one uint8 (S, S, 3) image."""
        await self.ready()
        vectors = await self._models.embed_images(pixels[None], Priority.QUERY)
        return np.asarray(vectors[0], dtype=np.float32)

    def _remember(self, key: str, vector: np.ndarray) -> None:
        self._cache[key] = vector
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class UploadedQueries:
    """Vectors of images sent to search by, kept a while so a combined search can refer to them by id."""

    def __init__(self, *, size: int = 64, ttl_s: float = 3600.0) -> None:
        self._vectors: OrderedDict[str, tuple[float, np.ndarray]] = OrderedDict()
        self._size = size
        self._ttl_s = ttl_s

    def put(self, vector: np.ndarray) -> str:
        upload_id = secrets.token_hex(16)
        self._vectors[upload_id] = (time.monotonic(), vector)
        while len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
        return upload_id

    def get(self, upload_id: str) -> np.ndarray | None:
        entry = self._vectors.get(upload_id)
        if entry is None or time.monotonic() - entry[0] > self._ttl_s:
            self._vectors.pop(upload_id, None)
            return None
        return entry[1]


__all__ = ["ModelState", "ModelsLoading", "QueryEncoder", "UploadedQueries"]
