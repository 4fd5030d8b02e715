"""Remove photos from the index, optionally moving their files to the platform trash (never unlinking).

Without ``trash`` only the index entry goes; the file stays, so a later scan
of its folder indexes it again (remove the folder, or trash the file, to be
rid of it for good). With ``trash`` the file goes to the desktop trash via
send2trash first, and its entry is removed only if that worked. A folder that
stops being watched keeps its photos (``unwatch_root``) unless purged
(``remove_root``). Every removal is written by the ``IndexWriter``, which
keeps the indexer's state in step and tells the library's views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import structlog

from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.indexer.store import PhotoPoint, VectorStore
from photoindex.indexer.writer import IndexWriter
from photoindex.library.errors import Rejected
from photoindex.library.photos import PhotoFiles, parse_id

log = structlog.get_logger(__name__)

MAX_IDS = 1000


@dataclass(frozen=True)
class Removal:
    """What happened to one requested id."""

    id: str
    removed: bool  # the index entry is gone
    trashed: bool  # the file went to the trash
    code: str | None = None
    message: str | None = None


async def remove_photos(
    store: VectorStore,
    writer: IndexWriter,
    files: PhotoFiles,
    ids: Sequence[str],
    *,
    trash: bool,
    limiter: anyio.CapacityLimiter | None = None,
) -> list[Removal]:
    """Remove each id from the index (trashing its file first when asked); one outcome per id, in order.

    ``limiter`` is the one reads from ``store`` share; the removal itself is the writer's.
    """
    if len(ids) > MAX_IDS:
        raise Rejected(f"at most {MAX_IDS} ids per request", reason="too_large", code=ErrorCode.TOO_LARGE)
    if trash:
        _require_send2trash()
    wanted: dict[str, str] = {}
    outcomes: dict[str, Removal] = {}
    for raw in ids:
        try:
            wanted[raw] = parse_id(raw)
        except PhotoindexError as exc:
            outcomes[raw] = Removal(raw, False, False, str(exc.code), exc.message)
    found = await anyio.to_thread.run_sync(lambda: store.retrieve(list(set(wanted.values()))), limiter=limiter)
    points = {p.id: p for p in found}
    to_delete: list[str] = []
    for raw, canonical in wanted.items():
        point = points.get(canonical)
        if point is None:
            outcomes[raw] = Removal(raw, False, False, str(ErrorCode.NOT_FOUND), "no such photo")
            continue
        if trash:
            failure = await _trash(files, point)
            if failure is not None:
                outcomes[raw] = Removal(raw, False, False, str(failure.code), failure.message)
                continue
        to_delete.append(canonical)
        outcomes[raw] = Removal(raw, True, trash)
    if to_delete:
        await writer.remove_ids(to_delete)
    log.info("library.photos_removed", removed=len(to_delete), trashed=trash, asked=len(ids))
    return [outcomes[raw] for raw in ids]


async def _trash(files: PhotoFiles, point: PhotoPoint) -> PhotoindexError | None:
    from send2trash import send2trash
    from send2trash.exceptions import TrashPermissionError

    try:
        path = files.original_path(point)
    except PhotoindexError as exc:
        if exc.code == ErrorCode.VANISHED:
            return None  # already gone from disk: removing the entry is all that is left to do
        return exc
    try:
        await anyio.to_thread.run_sync(send2trash, str(path))
    except (OSError, TrashPermissionError) as exc:
        return PhotoindexError(f"could not move {path} to the trash: {exc}", code=ErrorCode.PERMISSION)
    return None


def _require_send2trash() -> None:
    try:
        import send2trash  # noqa: F401
    except ImportError:
        raise Rejected(
            "moving files to the trash needs send2trash: pip install send2trash",
            reason="unavailable",
            code=ErrorCode.MISSING_CODEC,
        ) from None


async def remove_root(writer: IndexWriter, root: str) -> int:
    """Drop this host's points indexed under ``root`` (a folder no longer watched); returns how many."""
    removed = await writer.remove_root(root)
    log.info("library.root_removed", root=root, points=removed)
    return removed


async def unwatch_root(writer: IndexWriter, root: str) -> int:
    """Keep this host's photos of ``root`` in the index, marked as outside any watched folder.

    They stay searchable with their vectors; watching a folder that holds
    them again gives them their root back without reading a file.
    """
    kept = await writer.unwatch_root(root)
    log.info("library.root_unwatched", root=root, points=kept)
    return kept


__all__ = ["MAX_IDS", "Removal", "remove_photos", "remove_root", "unwatch_root"]
