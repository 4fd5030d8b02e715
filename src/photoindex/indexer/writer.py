"""The one component that writes the index, and keeps ``IndexState`` in step with what it wrote.

Every write to the store goes through here: the pipeline's batches, moves and
renames, removals, payload updates (captions, places, roots, availability)
and the API's removals. Blocking store calls run in a worker thread under one
``CapacityLimiter``, so no write blocks the event loop and no two interleave.
The state changes on the loop only once the store accepted the write; then one
``IndexChange`` describing it goes to every subscriber.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import islice
from typing import TypeVar

import anyio
import structlog

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.changes import ChangeListener, IndexChange
from photoindex.indexer.state import UNWATCHED_ROOT, IndexState, KnownFile
from photoindex.indexer.store import PhotoFilter, PhotoPoint, VectorStore
from photoindex.indexer.store.guarded import is_disk_full

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Ids per store call for removals and payload updates; each chunk is one committed write.
CHUNK = 512

PayloadUpdate = tuple[str, Mapping[str, object]]


class IndexWriter:
    """Writes the store (one write at a time, off the event loop) and keeps ``state`` current."""

    def __init__(self, store: VectorStore, state: IndexState, *, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._store = store
        self._state = state
        self._limiter = limiter or anyio.CapacityLimiter(1)
        self._listeners: list[ChangeListener] = []
        # Awaited when the store refused a held write because the disk is short; the write is retried after it.
        self.wait_writable: Callable[[], Awaitable[None]] | None = None

    @property
    def state(self) -> IndexState:
        """What the index knows about this host's files (read it; only the writer changes it)."""
        return self._state

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """Held around every store call the writer makes."""
        return self._limiter

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Hold every write (and the writer's reads) until the block ends; they wait, none fails."""
        async with self._limiter:
            yield

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener`` with every committed write's ``IndexChange``; returns what unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    async def load_state(self, *, roots: tuple[str, ...] | None = None) -> IndexState:
        """(Re)read this host's state from the store; returns it."""
        host_id = self._state.host_id
        self._state = await self._run(lambda: IndexState.load(self._store, host_id=host_id, roots=roots))
        return self._state

    # -- reads the writers need ------------------------------------------------
    async def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[PhotoPoint]:
        """The stored points among ``ids`` (read under the write limiter: it sees every committed write)."""
        return await self._run(functools.partial(self._store.retrieve, list(ids), with_vectors=with_vectors))

    async def scroll(
        self, flt: PhotoFilter, *, fields: Sequence[str], limit: int | None = None, page_size: int = 1024
    ) -> list[PhotoPoint]:
        """Up to ``limit`` points matching ``flt`` (all when None), with only ``fields`` of their payload."""

        def read() -> list[PhotoPoint]:
            points = self._store.scroll(flt=flt, fields=fields, page_size=page_size)
            return list(points if limit is None else islice(points, limit))

        return await self._run(read)

    # -- whole points ------------------------------------------------------------
    async def write(
        self,
        *,
        upsert: Sequence[PhotoPoint] = (),
        delete: Sequence[str] = (),
        forget: Iterable[str] = (),
        remember: Iterable[KnownFile] = (),
        hold_when_full: bool = False,
    ) -> IndexChange:
        """Delete ``delete``, then upsert ``upsert``; then forget and remember those files in the state.

        Every path of ``forget`` goes before any file of ``remember`` comes, so two
        files that swapped names both stay known. With ``hold_when_full`` a write
        the store refuses for want of disk space waits (and so does whoever awaits
        it) until there is room, then is retried: upserts and deletes by id are
        idempotent, a retry doubles nothing.
        """
        points, deletes = list(upsert), list(dict.fromkeys(delete))
        known = {p.id for p in points if self._state.path_of(p.id) is not None}
        apply = functools.partial(self._apply, points, deletes)
        if hold_when_full:
            await self._when_writable(apply, points=len(points), deleted=len(deletes))
        else:
            await self._run(apply)
        for path in forget:
            self._state.forget(path)
        for file in remember:
            self._state.remember(file)
        ids = list(dict.fromkeys(p.id for p in points))
        change = IndexChange(
            added=tuple(i for i in ids if i not in known),
            changed=tuple(i for i in ids if i in known),
            removed=tuple(deletes),
        )
        self._publish(change)
        return change

    async def remove_known(self, files: Sequence[KnownFile]) -> int:
        """Delete the points of known ``files`` and forget them; returns how many went."""
        for start in range(0, len(files), CHUNK):
            chunk = files[start : start + CHUNK]
            await self.write(delete=[k.point_id for k in chunk], forget=[k.path for k in chunk])
        return len(files)

    async def remove_ids(self, ids: Sequence[str]) -> int:
        """Delete points by id (known to the state or not); returns how many ids were asked for."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            paths = [p for p in (self._state.path_of(i) for i in chunk) if p is not None]
            await self.write(delete=chunk, forget=paths)
        return len(unique)

    async def remove_root(self, root: str) -> int:
        """Delete this host's points of ``root`` (a folder no longer watched; its files stay); returns how many."""
        return await self.remove_ids(await self._ids_of_root(root))

    # -- payload updates -------------------------------------------------------------
    async def set_payload(self, updates: Sequence[PayloadUpdate]) -> list[str]:
        """Set payload fields point by point, ``CHUNK`` points a store call; returns the ids that were set.

        A point no longer stored (removed meanwhile) is passed over. The fields
        the state mirrors (``root``, ``caption_status``) are updated there too.
        """
        done: list[str] = []
        for start in range(0, len(updates), CHUNK):
            chunk = list(updates[start : start + CHUNK])
            written = await self._run(functools.partial(self._set_each, chunk))
            fields: dict[str, None] = {}
            for pid, payload in written:
                fields.update(dict.fromkeys(payload))
                self._mirror(pid, payload)
            done += [pid for pid, _payload in written]
            self._publish(IndexChange(changed=tuple(pid for pid, _p in written), fields=tuple(sorted(fields))))
        return done

    async def mark_available(self, root: str, available: bool) -> int:
        """Set ``available`` on every known photo of ``root``; returns how many were marked."""
        ids = [k.point_id for k in self._state.under(root)]
        return len(await self.set_payload([(pid, {"available": available}) for pid in ids]))

    async def set_roots(self, files: Sequence[tuple[KnownFile, str]]) -> int:
        """Give known files another ``root`` (a folder watched again adopts them); returns how many."""
        return len(await self.set_payload([(known.point_id, {"root": root}) for known, root in files]))

    async def unwatch_root(self, root: str) -> int:
        """Keep this host's photos of ``root`` with no root (outside any watched folder); returns how many."""
        ids = await self._ids_of_root(root)
        return len(await self.set_payload([(pid, {"root": UNWATCHED_ROOT}) for pid in ids]))

    # -- internals ---------------------------------------------------------------------
    async def _ids_of_root(self, root: str) -> list[str]:
        """Known photos of ``root``, and any the store holds for it that the state was not loaded with."""
        ids = [k.point_id for k in self._state.under(root)]
        flt = PhotoFilter(host_ids=(self._state.host_id,), roots=(root,))
        stored = await self.scroll(flt, fields=("path",))
        return list(dict.fromkeys([*ids, *(p.id for p in stored)]))

    async def _run(self, work: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)

    async def _when_writable(self, work: Callable[[], None], **what: int) -> None:
        while True:
            try:
                await self._run(work)
                return
            except Exception as exc:
                if not is_disk_full(exc) or self.wait_writable is None:
                    raise
                log.info("indexer.batch_held", reason=str(exc), **what)
                await self.wait_writable()

    def _apply(self, points: list[PhotoPoint], deletes: list[str]) -> None:
        # Deletes go first: killed in between, a re-run rewrites the points, with no duplicate left behind.
        if deletes:
            self._store.delete(deletes)
        if points:
            self._store.upsert(points)

    def _set_each(self, updates: list[PayloadUpdate]) -> list[PayloadUpdate]:
        done: list[PayloadUpdate] = []
        for pid, payload in updates:
            try:
                self._store.set_payload(pid, payload)
            except StoreError as exc:
                if exc.code != ErrorCode.NOT_FOUND:
                    raise
                continue  # the point left the index meanwhile: nothing left to set
            done.append((pid, payload))
        return done

    def _mirror(self, pid: str, payload: Mapping[str, object]) -> None:
        path = self._state.path_of(pid)
        if path is None or ("root" not in payload and "caption_status" not in payload):
            return
        known = self._state[path]
        root = payload.get("root", known.root)
        caption_status = payload.get("caption_status", known.caption_status)
        self._state.remember(
            replace(
                known,
                root=str(root),
                caption_status=caption_status if isinstance(caption_status, str) else None,
            )
        )

    def _publish(self, change: IndexChange) -> None:
        if not change:
            return
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("index.listener_failed", listener=getattr(listener, "__qualname__", repr(listener)))


__all__ = ["CHUNK", "IndexWriter", "PayloadUpdate"]
