"""What the pipeline's writer stores, and the point ids it gives new points just before it stores them.

Stages upstream build points without choosing their ids (``BY_PATH``): ids
are settled here, in the one writer, over a whole batch at once against the
``IndexState`` as it stands, so two files never claim one id however their
work interleaved. A file already known keeps its id; a photo seen to have
moved keeps its old one, provided its old path was not rewritten meanwhile;
anything else is a new photo, whose id is derived from (host, path) so a
re-run after ``kill -9`` derives the same one instead of adding a second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import msgspec

from photoindex.indexer.state import IndexState, KnownFile
from photoindex.indexer.store import PhotoPoint

# The id of a point whose id the writer chooses.
BY_PATH = ""


@dataclass(frozen=True)
class StoreWrite:
    """Points to upsert (``known`` describes each, in order) and points to delete."""

    points: tuple[PhotoPoint, ...] = ()
    known: tuple[KnownFile, ...] = ()
    delete_ids: tuple[str, ...] = ()
    forget_paths: tuple[str, ...] = ()
    moved_from: KnownFile | None = None  # one point: the photo that was at this path before its move


def settle_ids(writes: list[StoreWrite], state: IndexState) -> list[StoreWrite]:
    """``writes`` with every ``BY_PATH`` id chosen; nothing in ``state`` changes yet."""
    taken: dict[str, str] = {}  # id → path, claimed earlier in this batch
    out: list[StoreWrite] = []
    for write in writes:
        if not any(p.id == BY_PATH for p in write.points):
            taken.update((k.point_id, k.path) for k in write.known)
            out.append(write)
            continue
        points: list[PhotoPoint] = []
        known: list[KnownFile] = []
        deletes, forget = list(write.delete_ids), list(write.forget_paths)
        for point, file in zip(write.points, write.known, strict=True):
            pid = point.id
            if pid == BY_PATH:
                donor = write.moved_from
                if (
                    donor is not None and state.get(donor.path) == donor and donor.point_id not in taken
                ):  # still its record
                    pid = donor.point_id  # a rename or move: the photo keeps its id
                    forget.append(donor.path)
                    replaced = state.get(file.path)
                    if replaced is not None and replaced.point_id != pid:
                        deletes.append(replaced.point_id)  # moved over another indexed file
                else:
                    pid = state.id_for(file.path, taken=taken)
                point, file = msgspec.structs.replace(point, id=pid), replace(file, point_id=pid)
            taken[pid] = file.path
            points.append(point)
            known.append(file)
        out.append(StoreWrite(tuple(points), tuple(known), tuple(deletes), tuple(forget)))
    return out


__all__ = ["BY_PATH", "StoreWrite", "settle_ids"]
