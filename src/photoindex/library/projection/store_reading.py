"""What a fit reads from the store, a bounded piece at a time: never every vector of the library at once.

These run on worker threads (the store's calls block). Photo ids are kept as a
sorted numpy bytes column (36 bytes a photo), the order the map is served in.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoFilter, VectorStore

_INDEXED = PhotoFilter(statuses=(PhotoStatus.INDEXED,))
_RETRIEVE_BATCH = 1024


def indexed_ids(store: VectorStore) -> np.ndarray:
    """The ids of every indexed photo, sorted (ids and no payload: about 40 bytes a photo while read)."""
    ids = [point.id.encode("ascii") for point in store.scroll(flt=_INDEXED, fields=())]
    return np.sort(np.array(ids, dtype=bytes)) if ids else np.zeros(0, dtype="S36")


def vectors_of(store: VectorStore, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids found, their vectors) for sorted ``ids``, in the same order; a photo removed meanwhile is left out."""
    found: dict[bytes, np.ndarray] = {}
    for start in range(0, ids.shape[0], _RETRIEVE_BATCH):
        batch = [i.decode("ascii") for i in ids[start : start + _RETRIEVE_BATCH].tolist()]
        for point in store.retrieve(batch, with_vectors=True):
            if point.vector is not None:
                found[point.id.encode("ascii")] = point.vector
    kept = np.array([i for i in ids.tolist() if i in found], dtype=ids.dtype)
    rows = [found[i] for i in kept.tolist()]
    matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, store.dim), dtype=np.float32)
    return kept, matrix


def vector_chunks(store: VectorStore, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every indexed photo's (ids, vectors) in chunks of ``rows``: one chunk in memory at a time."""
    ids: list[bytes] = []
    vectors: list[np.ndarray] = []
    for point in store.scroll(flt=_INDEXED, with_vectors=True, fields=()):
        if point.vector is None:
            continue
        ids.append(point.id.encode("ascii"))
        vectors.append(point.vector)
        if len(ids) >= rows:
            yield np.array(ids, dtype=bytes), np.stack(vectors).astype(np.float32)
            ids, vectors = [], []
    if ids:
        yield np.array(ids, dtype=bytes), np.stack(vectors).astype(np.float32)


__all__ = ["indexed_ids", "vector_chunks", "vectors_of"]
