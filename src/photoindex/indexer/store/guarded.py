"""``GuardedStore``: a ``VectorStore`` that refuses to write while the disk is short.

The embedded store grows through memory-mapped files, and a write that finds
no room on the filesystem is a SIGBUS, not an error. Every write (upsert,
payload change, delete, metadata, flush) first asks ``refusal()``; when it
names a reason, the write raises ``StoreError(ERR_DISK_FULL)`` before the
store is touched. Reads always go through: searches keep working on a full
disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.store._protocol import PhotoFilter, PhotoPoint, SearchHit, VectorStore


class GuardedStore:
    """Wraps ``store``; ``refusal()`` returns why writes must wait now (None: they may go)."""

    def __init__(self, store: VectorStore, refusal: Callable[[], str | None]) -> None:
        self.inner = store
        self._refusal = refusal

    def _check(self) -> None:
        reason = self._refusal()
        if reason is not None:
            raise StoreError(f"the index is read-only: {reason}", code=ErrorCode.DISK_FULL)

    @property
    def collection(self) -> str:
        return self.inner.collection

    @property
    def dim(self) -> int:
        return self.inner.dim

    def upsert(self, points: Sequence[PhotoPoint]) -> None:
        if points:
            self._check()
        self.inner.upsert(points)

    def set_payload(self, point_id: str, payload: Mapping[str, object]) -> None:
        self._check()
        self.inner.set_payload(point_id, payload)

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._check()
        self.inner.delete(ids)

    def set_meta(self, meta: Mapping[str, object]) -> None:
        self._check()
        self.inner.set_meta(meta)

    def flush(self) -> None:
        self._check()
        self.inner.flush()

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[PhotoPoint]:
        return self.inner.retrieve(ids, with_vectors=with_vectors)

    def search(
        self,
        vector: np.ndarray,
        *,
        limit: int,
        offset: int = 0,
        flt: PhotoFilter | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        return self.inner.search(vector, limit=limit, offset=offset, flt=flt, fields=fields)

    def scroll(
        self,
        *,
        flt: PhotoFilter | None = None,
        with_vectors: bool = False,
        page_size: int = 1024,
        fields: Sequence[str] | None = None,
    ) -> Iterator[PhotoPoint]:
        return self.inner.scroll(flt=flt, with_vectors=with_vectors, page_size=page_size, fields=fields)

    def count(self, flt: PhotoFilter | None = None) -> int:
        return self.inner.count(flt)

    def get_meta(self) -> dict[str, object]:
        return self.inner.get_meta()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        # Adapter extras (``path``, ``optimize``) of the wrapped store; writes among them are not used live.
        return getattr(self.inner, name)


def is_disk_full(exc: BaseException) -> bool:
    """True for the error a ``GuardedStore`` raises while the disk is short."""
    return isinstance(exc, StoreError) and exc.code == ErrorCode.DISK_FULL


__all__ = ["GuardedStore", "is_disk_full"]
