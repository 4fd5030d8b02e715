"""What the pipeline's embed stage asks of the models for one batch: vectors, inline captions, place data."""

from __future__ import annotations

import time

import anyio
import numpy as np
import structlog

from photoindex.config.settings import CaptionMode
from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.models.worker import ModelWorker, Priority
from photoindex.indexer.records import DecodedPhoto
from photoindex.indexer.status import CaptionStatus, PhotoStatus
from photoindex.indexer.summary import IndexSummary

log = structlog.get_logger(__name__)


async def embed_batch(
    models: ModelWorker, batch: list[DecodedPhoto], summary: IndexSummary
) -> tuple[np.ndarray | None, dict[int, ModelError]]:
    """The batch's vectors (None when no model is available: the photos become pending).

    If inference fails on the batch, each photo is tried alone, so one bad
    image fails by itself with ERR_EMBED instead of taking the batch along.
    """
    if models.embedder_error is not None:
        return None, {}
    try:
        vectors = await models.embed_images(np.stack([p.image.pixels for p in batch]), Priority.INDEX)
        summary.embedded_images += len(batch)
        return vectors, {}
    except ModelError as exc:
        if exc.code == ErrorCode.MODEL_UNAVAILABLE:
            # The cause was said once, by models.load_failed; this only counts what waits for it.
            log.info("indexer.batch_pending", n=len(batch), code=str(exc.code))
            return None, {}
        log.warning("indexer.batch_embed_failed", n=len(batch), error=exc.message)
    rows: list[np.ndarray] = []
    failures: dict[int, ModelError] = {}
    for index, photo in enumerate(batch):
        try:
            rows.append((await models.embed_images(photo.image.pixels[None], Priority.INDEX))[0])
            summary.embedded_images += 1
        except ModelError as exc:
            failures[index] = exc
            rows.append(np.zeros(0, dtype=np.float32))
    if len(failures) == len(batch):
        return np.zeros((len(batch), 0), dtype=np.float32), failures
    dim = next(len(r) for r in rows if len(r))
    return np.stack([r if len(r) else np.zeros(dim, dtype=np.float32) for r in rows]), failures


async def inline_captions(
    models: ModelWorker, mode: CaptionMode, batch: list[DecodedPhoto], summary: IndexSummary
) -> list[str | None] | None:
    """The batch's captions when they are made while indexing (``mode`` inline); else None."""
    if mode != "inline":
        return None
    started = time.perf_counter()
    try:
        pixels = np.stack([p.image.caption_pixels for p in batch])
        captions: list[str | None] = list(await models.caption(pixels, Priority.INDEX))
        summary.captioned += len(batch)
    except ModelError as exc:
        log.warning("indexer.caption_failed", n=len(batch), code=str(exc.code), error=exc.message)
        captions = [None] * len(batch)
    summary.stage_s["caption"] += time.perf_counter() - started
    return captions


def caption_status(mode: CaptionMode, caption: str | None, status: PhotoStatus) -> CaptionStatus:
    """The ``caption_status`` a photo is stored with."""
    if caption is not None:
        return CaptionStatus.DONE
    if mode == "off" or status != PhotoStatus.INDEXED:
        return CaptionStatus.NONE
    return CaptionStatus.PENDING  # deferred, or an inline caption that failed: the caption pass retries


async def load_geo(geo: GeoLookup | None, batch: list[DecodedPhoto]) -> None:
    """The first photo with GPS loads the place and zone data, off the event loop (once, under a second)."""
    if geo is None or geo.loaded:
        return
    if any(p.image.metadata.gps_lat is not None and p.image.metadata.gps_lon is not None for p in batch):
        await anyio.to_thread.run_sync(geo.load)


__all__ = ["caption_status", "embed_batch", "inline_captions", "load_geo"]
