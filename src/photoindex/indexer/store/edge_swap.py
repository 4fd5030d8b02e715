"""Swap a finished vector-index build in as the embedded store, with every write made since its copy.

Called in a worker thread while the ``IndexWriter`` holds every write, so the
store cannot change under it. The steps, and why a crash at any of them loses
nothing that was acknowledged:

1. load the built shard (from its final directory: qdrant-edge later creates
   files by path, so an open shard's directory is never renamed);
2. copy into it, from the serving shard, each point the journal says was
   written since the copy (present: upserted whole, vector and payload;
   gone: deleted), and flush it;
3. rewrite the layout's pointer to name it: until this rename a restart opens
   the old directory, whose write-ahead log holds every write; after it, the
   built one, which now holds them too;
4. serve from it, close the old shard and remove the old directory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import qdrant_edge as qe
import structlog

from photoindex.errors import StoreError
from photoindex.indexer.store.edge import EdgeStore

log = structlog.get_logger(__name__)

# Points per copy call: one call holds the GIL (qdrant-edge), so the event loop runs between chunks.
_COPY_CHUNK = 256


@dataclass(frozen=True)
class SwapReport:
    load_s: float  # loading the built shard (holds the GIL throughout: see the README's store section)
    copied: int  # ids written during the build, carried over
    total_s: float


def swap_in(store: EdgeStore, built: Path, journal: set[str]) -> SwapReport:
    """Make ``built`` the store, carrying over the ids in ``journal`` (writes must be held meanwhile)."""
    started = time.perf_counter()
    try:
        shard = qe.EdgeShard.load(str(built))
    except Exception as exc:
        raise StoreError(f"cannot load the built index at {built}: {exc}") from exc
    load_s = time.perf_counter() - started
    ids = sorted(journal)
    try:
        for start in range(0, len(ids), _COPY_CHUNK):
            store.copy_points(ids[start : start + _COPY_CHUNK], shard)
        shard.flush()
        store.layout.commit(built)
    except BaseException:
        shard.close()
        raise
    old = store.replace_shard(shard, built)
    closing = time.perf_counter()
    if old is not None:
        try:
            old.close()
        except Exception as exc:  # the new shard serves and holds every write; the old one is garbage
            log.warning("store.old_shard_close_failed", error=str(exc))
    close_s = time.perf_counter() - closing
    store.layout.remove_leftovers()
    report = SwapReport(load_s=load_s, copied=len(ids), total_s=time.perf_counter() - started)
    log.info(
        "store.index_swapped",
        path=str(built),
        load_ms=round(load_s * 1000),
        close_ms=round(close_s * 1000),
        copied=len(ids),
    )
    return report


__all__ = ["SwapReport", "swap_in"]
