"""Work the daemon does only when it has nothing else to do: deferred captions, place names, giving memory back.

Captions ("deferred") start once nothing has waited for ``CAPTION_AFTER_IDLE_S``
and run in small batches at background priority; the pass stops before its
next batch as soon as other work arrives, so a new photo waits at most for
one small caption batch. After ``model.idle_unload_s`` without work the
decode workers are let go (the model worker unloads the models on the same
TTL by itself); both come back on the next file. Photos indexed before
place names existed get theirs (``place_backfill``) at the first quiet moment
after start, before captions: it needs no model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import structlog

from photoindex.components import Components
from photoindex.daemon.place_backfill import backfill_places
from photoindex.indexer.captions import caption_pending, pending_caption_count
from photoindex.indexer.heap import trim_heap
from photoindex.indexer.store.guarded import is_disk_full

log = structlog.get_logger(__name__)

# Quiet this long before captioning starts: a burst of drops usually comes with gaps shorter than this.
CAPTION_AFTER_IDLE_S = 3.0
# Images per caption batch in the daemon. A running batch is never interrupted, so a new photo may wait
# for one: BLIP-base takes ~2 s per image on 2 CPU cores (bench/latency.py), hence one at a time.
CAPTION_BATCH = 1
TICK_S = 0.5


@dataclass
class IdleState:
    """What the idle loop knows, for status."""

    captions_pending: int | None = None
    captioning: bool = False
    captioned: int = 0
    decoders_released: int = 0
    places_filled: int = 0  # photos given their place by the back-fill since start


class IdleWork:
    """Runs captions and memory release while ``busy()`` says the daemon is idle."""

    def __init__(
        self,
        parts: Components,
        busy: Callable[[], bool],
        *,
        idle_s: Callable[[], float],
        indexed_total: Callable[[], int],
    ) -> None:
        self.parts = parts
        self._busy = busy
        self._idle_s = idle_s  # seconds since the daemon last had anything to do
        self._indexed_total = indexed_total
        self.state = IdleState()

    async def run(self) -> None:
        settings = self.parts.settings
        captions_on = settings.model.captions == "deferred"
        ttl = settings.model.idle_unload_s
        captions_due = captions_on  # something may need a caption: at start, and after new photos
        seen_total = self._indexed_total()
        released = False
        places_due = self.parts.pipeline.options.geo is not None
        while True:
            await anyio.sleep(TICK_S)
            total = self._indexed_total()
            if total != seen_total:
                seen_total, captions_due = total, captions_on
            idle = self._idle_s()
            if self._busy() or idle < TICK_S:
                released = False
                continue
            writable = not self.parts.gate.read_only  # captions are store writes: none while the disk is short
            if places_due and writable:
                places_due = not await self._fill_places()
                continue
            if captions_due and writable and idle >= CAPTION_AFTER_IDLE_S and self.parts.models.embedder_error is None:
                try:
                    started = await self._caption()
                except Exception as exc:
                    if not is_disk_full(exc):
                        raise
                    self.state.captioning = False
                    continue  # the disk got short during the pass: again once it is writable
                # Interrupted by new work: try again at the next quiet moment; else done until new photos.
                captions_due = self._busy() or self._idle_s() < time.monotonic() - started
                continue
            if ttl > 0 and idle >= ttl and not released:
                await self._release_decoders()
                released = True

    async def _caption(self) -> float:
        """One caption pass; returns when it started (monotonic)."""
        started = time.monotonic()
        parts = self.parts
        pending = await anyio.to_thread.run_sync(pending_caption_count, parts.store)
        self.state.captions_pending = pending
        if not pending:
            return started
        self.state.captioning = True
        try:
            done = await caption_pending(
                parts.pipeline.writer,
                parts.pipeline.decoder,
                parts.models,
                model_size=parts.spec.image_size,
                batch_size=CAPTION_BATCH,
                keep_going=lambda: not self._busy() and self._idle_s() >= time.monotonic() - started,
            )
        finally:
            self.state.captioning = False
        self.state.captioned += done
        self.state.captions_pending = await anyio.to_thread.run_sync(pending_caption_count, parts.store)
        log.info("captions.pass_done", captioned=done, pending=self.state.captions_pending)
        return started

    async def _fill_places(self) -> bool:
        """One back-fill pass; True when it ran to the end (False: new work interrupted it)."""
        geo = self.parts.pipeline.options.geo
        assert geo is not None
        started = time.monotonic()
        try:
            self.state.places_filled += await backfill_places(
                self.parts.pipeline.writer,
                geo,
                keep_going=lambda: not self._busy() and self._idle_s() >= time.monotonic() - started,
            )
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            return False
        return not self._busy() and self._idle_s() >= time.monotonic() - started

    async def _release_decoders(self) -> None:
        """Stop the idle decode workers, and drop the place data; both come back with the next file."""
        await anyio.to_thread.run_sync(self.parts.pipeline.decoder.release)
        self.state.decoders_released += 1
        log.info("decode.workers_released")
        geo = self.parts.pipeline.options.geo
        if geo is not None and geo.geocoder.loaded:
            geo.release()
            await anyio.to_thread.run_sync(trim_heap)  # the data's pages go back to the OS (~60 MB)
            log.info("places.geocoder_released")


__all__ = ["CAPTION_BATCH", "IdleState", "IdleWork"]
