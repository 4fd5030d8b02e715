"""Moves and renames: a photo already indexed keeps its point (and vector) under its new path.

Nothing is read from the file, decoded or embedded: the stored point is read
back, given the new path's facts, and written again by the ``IndexWriter``
under the same id.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.payloads import moved_payload
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import KnownFile
from photoindex.indexer.store import PhotoPoint
from photoindex.indexer.summary import IndexSummary
from photoindex.indexer.writer import IndexWriter

# Moves are re-pointed this many at a time (one read and one write each).
MOVE_BATCH = 256


async def repoint(
    writer: IndexWriter,
    moves: Sequence[tuple[str, FileFacts]],
    summary: IndexSummary,
    *,
    host_id: str,
    geo: GeoLookup | None,
) -> list[str]:
    """Give indexed points the new path of their renamed or moved files.

    ``moves`` pairs the old path with the stat of the file at its new path. Returns
    the old paths that could not be re-pointed (not known, or no longer stored);
    the caller treats those as a deletion plus a new file.
    """
    state = writer.state
    missed: list[str] = []
    for start in range(0, len(moves), MOVE_BATCH):
        chunk = [(state.get(old), old, facts) for old, facts in moves[start : start + MOVE_BATCH]]
        missed += [old for known, old, _facts in chunk if known is None]
        todo = [(known, facts) for known, _old, facts in chunk if known is not None]
        if not todo:
            continue
        found = await writer.retrieve([known.point_id for known, _facts in todo], with_vectors=True)
        stored = {p.id: p for p in found}
        points: list[PhotoPoint] = []
        renamed: list[tuple[KnownFile, KnownFile]] = []
        overwritten: list[str] = []
        for known, facts in todo:
            old_point = stored.get(known.point_id)
            if old_point is None or old_point.payload.path != known.path:
                missed.append(known.path)  # gone, or rewritten meanwhile for another file
                continue
            payload = moved_payload(old_point.payload, facts, host_id=host_id, geo=geo)
            points.append(PhotoPoint(known.point_id, payload, old_point.vector))  # the photo keeps its id
            target = state.get(facts.path)
            if target is not None and target.point_id != known.point_id:
                overwritten.append(target.point_id)  # moved over another indexed file
            new = replace(
                known, path=facts.path, root=facts.root, size=facts.size, mtime_ns=facts.mtime_ns, inode=facts.inode
            )
            renamed.append((known, new))
        # All old paths are forgotten before any new one is remembered: two files may have swapped names.
        await writer.write(
            upsert=points,
            delete=overwritten,
            forget=[old.path for old, _new in renamed],
            remember=[new for _old, new in renamed],
        )
        summary.moved += len(renamed)
    return missed


def moved_away(donor: KnownFile, facts: FileFacts) -> bool:
    """Whether the file at ``facts`` is ``donor`` moved: its old path is gone, or now holds another file."""
    if facts.inode != donor.inode:
        return not os.path.lexists(donor.path)
    try:
        return os.lstat(donor.path).st_ino != donor.inode
    except OSError:
        return True


__all__ = ["MOVE_BATCH", "moved_away", "repoint"]
