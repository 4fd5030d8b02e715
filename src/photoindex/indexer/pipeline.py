"""The indexing pipeline: triage → hash → reuse or decode → micro-batch → embed → store.

Stages are tasks joined by bounded memory streams, so a flood of new files
never holds more than a few batches of decoded images in memory. Blocking
work leaves the event loop: hashing in threads, decoding in processes,
inference on the model worker's thread. Every write goes through the
``IndexWriter`` (one at a time, in a thread), which keeps ``IndexState`` in
step. A file that fails becomes a failure record; it never fails its batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import anyio
import numpy as np
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup

from photoindex.errors import ErrorCode, FileError, ModelError
from photoindex.indexer.batching import known_file, next_batch
from photoindex.indexer.decoding.hashing import hash_file
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.decoding.thumbnails import thumbnail_path
from photoindex.indexer.inference import caption_status, embed_batch, inline_captions, load_geo
from photoindex.indexer.models.ids import DEFAULT_CAPTION_SIZE
from photoindex.indexer.models.worker import ModelWorker, Priority
from photoindex.indexer.moves import moved_away, repoint
from photoindex.indexer.options import PipelineOptions
from photoindex.indexer.payloads import decoded_photo_payload, failure_payload, moved_payload
from photoindex.indexer.records import DecodedPhoto, DecodeRequest, FileFacts, FileFailure, HashedFile
from photoindex.indexer.state import IndexState, KnownFile
from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoPayload, PhotoPoint
from photoindex.indexer.summary import IndexSummary
from photoindex.indexer.write_batch import BY_PATH, StoreWrite, settle_ids
from photoindex.indexer.writer import IndexWriter

log = structlog.get_logger(__name__)

# A file that changes while we hash it is re-read this many times before we give up for now.
MAX_HASH_ATTEMPTS = 3
# Store writes are gathered into batches this large (or whatever arrived within WRITE_WAIT_S).
WRITE_BATCH = 256
WRITE_WAIT_S = 0.05


class IndexPipeline:
    """Runs files through the stages; one instance per store, reusable across runs."""

    def __init__(
        self,
        *,
        writer: IndexWriter,
        decoder: DecodePool,
        models: ModelWorker,
        options: PipelineOptions,
    ) -> None:
        self.writer = writer
        self.decoder = decoder
        self.models = models
        self.options = options
        self._inflight: dict[str, list[HashedFile]] = {}  # content being decoded → copies waiting on it
        # Content embedded but not yet written (so not yet in ``state``): a copy arriving now reuses it.
        self._unwritten: dict[str, tuple[PhotoPayload, np.ndarray]] = {}
        self._hash_limiter = anyio.CapacityLimiter(options.hash_workers)
        self.on_settled: Callable[[int], None] | None = None  # progress: files that need nothing more
        self.on_file_done: Callable[[str], None] | None = None  # each path given to process() once it is settled
        self.on_thumbnail: Callable[[Path], None] | None = None  # a decode wrote (or found) this thumbnail
        self._preloading = False

    @property
    def state(self) -> IndexState:
        """The writer's ``IndexState`` (read-only here: only the writer changes it)."""
        return self.writer.state

    # -- entry points --------------------------------------------------------
    async def run(self, files: Iterable[FileFacts], summary: IndexSummary | None = None) -> IndexSummary:
        """Index every file of ``files``; returns what happened to them."""
        summary = summary or IndexSummary()
        send, receive = anyio.create_memory_object_stream[FileFacts](1024)

        async def feed() -> None:
            async with send:
                for facts in files:
                    await send.send(facts)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            await self.process(receive, summary)
        summary.wall_s += time.perf_counter() - started
        return summary

    async def process(self, receive: ObjectReceiveStream[FileFacts], summary: IndexSummary) -> None:
        """Consume ``receive`` until it closes; the daemon keeps it open for its lifetime."""
        opts = self.options
        to_hash_send, to_hash_recv = anyio.create_memory_object_stream[FileFacts](opts.hash_workers * 4)
        to_decode_send, to_decode_recv = anyio.create_memory_object_stream[HashedFile](opts.decode_concurrency * 2)
        decoded_send, decoded_recv = anyio.create_memory_object_stream[DecodedPhoto](self._batch_size() * 2)
        writes_send, writes_recv = anyio.create_memory_object_stream[StoreWrite](64)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._triage, receive, to_hash_send, summary, tg)
            for _ in range(opts.hash_workers):
                tg.start_soon(
                    self._hash_stage, to_hash_recv.clone(), to_decode_send.clone(), writes_send.clone(), summary
                )
            for _ in range(opts.decode_concurrency):
                tg.start_soon(
                    self._decode_stage, to_decode_recv.clone(), decoded_send.clone(), writes_send.clone(), summary
                )
            tg.start_soon(self._embed_stage, decoded_recv, writes_send.clone(), summary)
            tg.start_soon(self._write_stage, writes_recv, summary)
            for stream in (to_hash_recv, to_decode_send, to_decode_recv, decoded_send, writes_send):
                await stream.aclose()

    # -- stages --------------------------------------------------------------
    async def _triage(
        self,
        receive: ObjectReceiveStream[FileFacts],
        to_hash: ObjectSendStream[FileFacts],
        summary: IndexSummary,
        tg: TaskGroup,
    ) -> None:
        async with receive, to_hash:
            async for facts in receive:
                summary.seen += 1
                models_ok = self.models.embedder_error is None
                known = self.state.unchanged(facts, models_available=models_ok)
                if known is None:
                    if self.models.embedder is None and not self._preloading:
                        # The first file with work to do: load the models while it is hashed and decoded.
                        self._preloading = True
                        tg.start_soon(self._preload_models)
                    await to_hash.send(facts)
                    continue
                if known.status == "failed":
                    summary.failed_unchanged[known.error_code or str(ErrorCode.DECODE)] += 1
                else:
                    summary.unchanged += 1
                self._settled(1)
                self._done(facts.path)

    async def _preload_models(self) -> None:
        try:
            await self.models.ensure_embedder(Priority.INDEX)
        except ModelError:
            pass  # remembered by the worker; photos are stored as pending
        finally:
            self._preloading = False

    async def _hash_stage(
        self,
        receive: ObjectReceiveStream[FileFacts],
        to_decode: ObjectSendStream[HashedFile],
        writes: ObjectSendStream[StoreWrite],
        summary: IndexSummary,
    ) -> None:
        async with receive, to_decode, writes:
            async for facts in receive:
                started = time.perf_counter()
                try:
                    hashed = await self._hash_settled(facts)
                except FileError as exc:
                    await self._fail(writes, summary, FileFailure(facts, exc.code, exc.message))
                    continue
                finally:
                    summary.stage_s["hash"] += time.perf_counter() - started
                if await self._reuse(hashed, writes, summary):
                    continue
                unwritten = self._unwritten.get(hashed.sha256)
                if unwritten is not None:
                    summary.reused += 1
                    await writes.send(self._copy_of(hashed, *unwritten))
                    continue
                waiting = self._inflight.get(hashed.sha256)
                if waiting is not None:
                    waiting.append(hashed)  # a copy of content already on its way through the model
                    continue
                self._inflight[hashed.sha256] = []
                await to_decode.send(hashed)

    async def _hash_settled(self, facts: FileFacts) -> HashedFile:
        for _ in range(MAX_HASH_ATTEMPTS):
            hashed, changed = await anyio.to_thread.run_sync(hash_file, facts, limiter=self._hash_limiter)
            if not changed:
                return hashed
            facts = hashed.facts
        raise FileError("the file kept changing while it was read; it will be retried", code=ErrorCode.STILL_WRITING)

    async def _decode_stage(
        self,
        receive: ObjectReceiveStream[HashedFile],
        decoded: ObjectSendStream[DecodedPhoto],
        writes: ObjectSendStream[StoreWrite],
        summary: IndexSummary,
    ) -> None:
        async with receive, decoded, writes:
            async for hashed in receive:
                started = time.perf_counter()
                try:
                    image = await self.decoder.decode(hashed.facts.path, self._decode_request(hashed.sha256))
                except FileError as exc:
                    failure = FileFailure(hashed.facts, exc.code, exc.message, sha256=hashed.sha256)
                    await self._fail(writes, summary, failure)
                    for copy in self._inflight.pop(hashed.sha256, []):
                        await self._fail(writes, summary, FileFailure(copy.facts, exc.code, exc.message, copy.sha256))
                    continue
                finally:
                    summary.stage_s["decode"] += time.perf_counter() - started
                summary.decoded_images += 1
                if self.on_thumbnail is not None and self.options.thumbs_dir is not None:
                    self.on_thumbnail(thumbnail_path(self.options.thumbs_dir, hashed.sha256))
                await decoded.send(DecodedPhoto(hashed, image))

    def _decode_request(self, sha256: str) -> DecodeRequest:
        opts = self.options
        thumb = thumbnail_path(opts.thumbs_dir, sha256) if opts.thumbs_dir is not None else None
        return DecodeRequest(
            model_size=opts.model_size,
            caption_size=DEFAULT_CAPTION_SIZE if opts.captions == "inline" else None,
            thumbnail_path=str(thumb) if thumb is not None else None,
            max_pixels=opts.max_pixels,
        )

    async def _embed_stage(
        self, receive: ObjectReceiveStream[DecodedPhoto], writes: ObjectSendStream[StoreWrite], summary: IndexSummary
    ) -> None:
        async with receive, writes:
            while batch := await next_batch(receive, self._batch_size(), self.options.max_wait_s):
                await writes.send(await self._embed_batch(batch, summary))

    def _batch_size(self) -> int:
        return self.options.batch_size or self.models.batch_size

    async def _embed_batch(self, batch: list[DecodedPhoto], summary: IndexSummary) -> StoreWrite:
        started = time.perf_counter()
        vectors, failures = await embed_batch(self.models, batch, summary)
        summary.stage_s["embed"] += time.perf_counter() - started
        captions = None
        if vectors is not None:
            captions = await inline_captions(self.models, self.options.captions, batch, summary)
        await load_geo(self.options.geo, batch)
        points: list[PhotoPoint] = []
        known: list[KnownFile] = []
        for index, photo in enumerate(batch):
            failure = failures.get(index)
            if failure is not None:
                for hashed in [photo.file, *self._inflight.pop(photo.file.sha256, [])]:
                    self._record_failure(
                        summary, FileFailure(hashed.facts, failure.code, failure.message, hashed.sha256)
                    )
                    points.append(self._failure_point(hashed, failure.code, failure.message))
                    known.append(known_file(BY_PATH, hashed, "failed", None, error_code=str(failure.code)))
                continue
            vector = vectors[index] if vectors is not None else None
            caption = captions[index] if captions is not None else None
            status = PhotoStatus.INDEXED if vector is not None else PhotoStatus.PENDING
            payload = decoded_photo_payload(
                photo.file,
                photo.image.metadata,
                photo.image.phash,
                host_id=self.options.host_id,
                model_id=self.options.model_id,
                status=status,
                caption=caption,
                caption_status=caption_status(self.options.captions, caption, status),
                fingerprint=photo.image.fingerprint,
                geo=self.options.geo,
            )
            copies = [photo.file, *self._inflight.pop(photo.file.sha256, [])]
            for position, hashed in enumerate(copies):
                copy_payload = (
                    payload
                    if position == 0
                    else moved_payload(payload, hashed.facts, host_id=self.options.host_id, geo=self.options.geo)
                )
                points.append(PhotoPoint(id=BY_PATH, payload=copy_payload, vector=vector))
                known.append(known_file(BY_PATH, hashed, status, copy_payload.caption_status))
                if status == "pending":
                    summary.pending += 1
                elif position == 0:
                    summary.indexed += 1
                else:
                    summary.reused += 1
            if vector is not None:
                self._unwritten[photo.file.sha256] = (payload, vector)
        return StoreWrite(points=tuple(points), known=tuple(known))

    def _copy_of(self, hashed: HashedFile, payload: PhotoPayload, vector: np.ndarray) -> StoreWrite:
        """A point for a copy of content whose vector is at hand: nothing decoded or embedded."""
        copy_payload = moved_payload(payload, hashed.facts, host_id=self.options.host_id, geo=self.options.geo)
        known = known_file(BY_PATH, hashed, "indexed", copy_payload.caption_status)
        return StoreWrite(points=(PhotoPoint(id=BY_PATH, payload=copy_payload, vector=vector),), known=(known,))

    async def _write_stage(self, receive: ObjectReceiveStream[StoreWrite], summary: IndexSummary) -> None:
        async with receive:
            while batch := await next_batch(receive, WRITE_BATCH, WRITE_WAIT_S, size=lambda w: len(w.points) or 1):
                writes = settle_ids(batch, self.state)
                points = [p for w in writes for p in w.points]
                deletes = [i for w in writes for i in w.delete_ids]
                started = time.perf_counter()
                # While the disk is short the batch is held, and so are the stages behind it, until there is room.
                await self.writer.write(
                    upsert=points,
                    delete=deletes,
                    forget=[path for w in writes for path in w.forget_paths],
                    remember=[k for w in writes for k in w.known],
                    hold_when_full=True,
                )
                summary.stage_s["store"] += time.perf_counter() - started
                for write in writes:
                    for known in write.known:
                        if known.sha256 is not None:
                            self._unwritten.pop(known.sha256, None)  # ``state`` has it now
                        self._done(known.path)
                    self._settled(len(write.known))
                log.debug("indexer.batch_written", points=len(points), deleted=len(deletes))

    def _settled(self, n: int) -> None:
        if self.on_settled is not None and n:
            self.on_settled(n)

    def _done(self, path: str) -> None:
        if self.on_file_done is not None:
            self.on_file_done(path)

    # -- reuse and failures --------------------------------------------------
    async def _reuse(self, hashed: HashedFile, writes: ObjectSendStream[StoreWrite], summary: IndexSummary) -> bool:
        """Re-point or copy an indexed point with the same content; True when that settled the file."""
        donor = self.state.indexed_with(hashed.sha256)
        if donor is None:
            return False
        found = await self.writer.retrieve([donor.point_id], with_vectors=True)
        if not found or found[0].vector is None:
            return False
        old = found[0]
        path = hashed.facts.path
        payload = moved_payload(old.payload, hashed.facts, host_id=self.options.host_id, geo=self.options.geo)
        moved_from: KnownFile | None = None
        if donor.path == path:
            summary.touched += 1
        elif moved_away(donor, hashed.facts):
            summary.moved += 1  # the writer gives it the donor's id, unless that path was rewritten meanwhile
            moved_from = donor
        else:
            summary.reused += 1
        known = known_file(BY_PATH, hashed, "indexed", payload.caption_status)
        point = PhotoPoint(BY_PATH, payload, old.vector)
        await writes.send(StoreWrite(points=(point,), known=(known,), moved_from=moved_from))
        return True

    async def _fail(self, writes: ObjectSendStream[StoreWrite], summary: IndexSummary, failure: FileFailure) -> None:
        self._record_failure(summary, failure)
        hashed = HashedFile(failure.facts, failure.sha256 or "")
        point = self._failure_point(hashed, failure.code, failure.message)
        known = known_file(BY_PATH, hashed, "failed", None, error_code=str(failure.code))
        await writes.send(StoreWrite(points=(point,), known=(known,)))

    def _record_failure(self, summary: IndexSummary, failure: FileFailure) -> None:
        summary.failed[str(failure.code)] += 1
        log.info("indexer.file_failed", path=failure.facts.path, code=str(failure.code), error=failure.message)

    def _failure_point(self, hashed: HashedFile, code: ErrorCode, message: str) -> PhotoPoint:
        failure = FileFailure(hashed.facts, code, message, hashed.sha256 or None)
        payload = failure_payload(failure, host_id=self.options.host_id, model_id=self.options.model_id)
        return PhotoPoint(id=BY_PATH, payload=payload, vector=None)

    # -- moves and removals ----------------------------------------------------
    async def repoint(self, moves: Sequence[tuple[str, FileFacts]], summary: IndexSummary) -> list[str]:
        """Re-point moved or renamed files (see ``moves.repoint``); returns the old paths that could not be."""
        return await repoint(self.writer, moves, summary, host_id=self.options.host_id, geo=self.options.geo)

    async def remove_paths(self, paths: Iterable[str], summary: IndexSummary) -> int:
        """Drop the points of known ``paths`` that are gone from disk; returns how many went."""
        state = self.state
        gone = [k for k in (state.get(p) for p in paths) if k is not None and not os.path.lexists(k.path)]
        await self.writer.remove_known(gone)
        summary.deleted += len(gone)
        return len(gone)

    async def remove_missing(self, root: str, seen: set[str], summary: IndexSummary) -> None:
        """Drop points under ``root`` whose files a complete scan did not find and that are gone."""
        gone = [k for k in self.state.under(root) if k.path not in seen and not os.path.lexists(k.path)]
        await self.writer.remove_known(gone)
        summary.deleted += len(gone)


__all__ = ["IndexPipeline", "PipelineOptions"]
