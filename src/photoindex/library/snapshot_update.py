"""A snapshot brought up to date from the index writer's change records: only the touched points are read.

Re-reading the whole store for a few changed photos costs a full scroll
(about a second at 100k photos); reading back the ids a write touched costs
one small retrieve. The result has the rows and columns a full read would
give, in point-id order (the order a scroll returns them in); only the name
tables may keep a folder or place no photo has any more, and
``last_indexed_at`` the time of a photo since removed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection

import numpy as np

from photoindex.indexer.store import VectorStore
from photoindex.library.snapshot import Columns, Snapshot
from photoindex.library.version import LibraryVersion


def updated_snapshot(
    snapshot: Snapshot, store: VectorStore, touched: Collection[str], version: LibraryVersion
) -> Snapshot | None:
    """``snapshot`` with the points of ``touched`` read again (gone ones dropped); None: read it all instead.

    ``snapshot`` is a whole one, as ``take_snapshot`` reads it (not a view such
    as ``Snapshot.of_host``). Blocking: run it in a thread.
    """
    old = snapshot
    if old.host is None or old.taken_ts is None or old.dir_code is None or old.place is None or old.lat is None:
        return None  # a snapshot without every column: only one ``take_snapshot`` made is brought up to date
    started = time.perf_counter()
    found = store.retrieve(sorted(touched))
    drop = {uuid.UUID(i).bytes for i in touched}
    keep = np.fromiter((row.tobytes() not in drop for row in old.ids), dtype=bool, count=len(old))
    kept = int(np.count_nonzero(keep))
    columns = Columns(host_names=old.host_names, dir_names=old.dir_names, place_names=old.place_names, first_row=kept)
    for point in found:
        columns.add(point)
    added = columns.build(version, columns.captions.build(), 0.0)
    ids = np.concatenate([old.ids[keep], added.ids])
    halves = ids.view(">u8").reshape(-1, 2)  # a point id's 16 bytes as two big-endian halves: scroll order
    order = np.lexsort((halves[:, 1], halves[:, 0]))
    final = np.empty(len(order), dtype=np.int64)
    final[order] = np.arange(len(order))
    old_rows = np.full(len(old), -1, dtype=np.int64)
    old_rows[keep] = np.arange(kept)

    def merged(before: np.ndarray, new: np.ndarray) -> np.ndarray:
        return np.concatenate([before[keep], new])[order]

    assert added.host is not None and added.taken_ts is not None and added.dir_code is not None
    assert added.place is not None and added.lat is not None
    latest = [t for t in (old.last_indexed_at, added.last_indexed_at) if t is not None]
    return Snapshot(
        version=version,
        ids=ids[order],
        status=merged(old.status, added.status),
        size=merged(old.size, added.size),
        width=merged(old.width, added.width),
        height=merged(old.height, added.height),
        mtime_ns=merged(old.mtime_ns, added.mtime_ns),
        sha256=merged(old.sha256, added.sha256),
        phash=merged(old.phash, added.phash),
        has_phash=merged(old.has_phash, added.has_phash),
        captions=old.captions.renumbered(old_rows, added.captions, final),
        # A removed photo's time may stay the latest: "last indexed" is when the index last took one in.
        last_indexed_at=max(latest) if latest else None,
        taken_s=time.perf_counter() - started,
        host=merged(old.host, added.host),
        host_names=added.host_names,
        taken_ts=merged(old.taken_ts, added.taken_ts),
        dir_code=merged(old.dir_code, added.dir_code),
        dir_names=added.dir_names,
        place=merged(old.place, added.place),
        place_names=added.place_names,
        lat=merged(old.lat, added.lat),
    )


__all__ = ["updated_snapshot"]
