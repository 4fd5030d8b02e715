"""The deferred caption pass: caption indexed photos that are searchable but not yet described.

Runs after indexing (CLI) or when the device is otherwise idle (daemon), at
background priority, so a caption never delays a photo becoming searchable.
Each batch is written (through the ``IndexWriter``) as it finishes; an
interrupted pass resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import numpy as np
import structlog

from photoindex.errors import FileError, ModelError
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.ids import DEFAULT_CAPTION_SIZE
from photoindex.indexer.models.worker import ModelWorker, Priority
from photoindex.indexer.records import DecodeRequest
from photoindex.indexer.store import PhotoFilter, VectorStore
from photoindex.indexer.writer import IndexWriter

log = structlog.get_logger(__name__)

PENDING = PhotoFilter(statuses=("indexed",), caption_status="pending")


async def _decode_into(
    decoder: DecodePool, request: DecodeRequest, path: str, into: list[np.ndarray | None], index: int
) -> None:
    try:
        into[index] = (await decoder.decode(path, request)).caption_pixels
    except FileError as exc:
        # The file changed or went away since indexing; the next scan deals with it.
        log.info("captions.skipped", path=path, code=str(exc.code))


def pending_caption_count(store: VectorStore) -> int:
    return store.count(PENDING)


async def caption_pending(
    writer: IndexWriter,
    decoder: DecodePool,
    models: ModelWorker,
    *,
    model_size: int,
    batch_size: int,
    on_progress: Callable[[int], None] | None = None,
    keep_going: Callable[[], bool] | None = None,
) -> int:
    """Caption every indexed photo whose caption is pending; returns how many got one.

    ``keep_going`` is asked before each batch; when it says no, the pass stops
    there (the daemon stops captioning as soon as other work arrives).
    """
    todo = [
        (p.id, p.payload.path) for p in await writer.scroll(PENDING, fields=("path",)) if p.payload.path is not None
    ]
    request = DecodeRequest(model_size=model_size, caption_size=DEFAULT_CAPTION_SIZE)
    done = 0
    for start in range(0, len(todo), batch_size):
        if keep_going is not None and not keep_going():
            break
        chunk = todo[start : start + batch_size]
        pixels: list[np.ndarray | None] = [None] * len(chunk)
        async with anyio.create_task_group() as tg:
            for index, (_pid, path) in enumerate(chunk):
                tg.start_soon(_decode_into, decoder, request, path, pixels, index)
        ready = [(pid, px) for (pid, _path), px in zip(chunk, pixels, strict=True) if px is not None]
        if not ready:
            continue
        try:
            captions = await models.caption(np.stack([px for _pid, px in ready]), Priority.BACKGROUND)
        except ModelError as exc:
            log.warning("captions.unavailable", code=str(exc.code), error=exc.message)
            return done
        # A photo that left the index while it was being captioned is passed over.
        written = await writer.set_payload(
            [
                (pid, {"caption": caption, "caption_status": "done"})
                for (pid, _px), caption in zip(ready, captions, strict=True)
            ]
        )
        done += len(written)
        if on_progress is not None:
            on_progress(len(chunk))
        log.info("captions.batch_done", n=len(ready))
    return done
