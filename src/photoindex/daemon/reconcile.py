"""Compare a folder on disk with the index and repair both ways: new, changed, moved, deleted.

The truth is the disk; events are hints. A scan walks the folder (one
``stat`` per file, from ``os.scandir``) and checks each file against the
in-memory ``IndexState``: unchanged files cost that stat and a dict lookup.
New and changed files go to the pipeline, or back to the settler when their
mtime is too fresh to trust. A file the index knows under another path with
the same inode, size and mtime was moved while nobody watched: its point is
re-pointed without reading it (through the work tracker, like the moves
the watchers report). A known, unchanged file filed under another
root, or under none (its folder was unwatched and kept), is adopted by this
root without reading it. Known files that are gone are removed, but
only after a complete walk of an available root; files below folders that
could not be read are never taken for deleted.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

import anyio
import msgspec
import structlog

from photoindex.daemon.roots import adopt
from photoindex.indexer.discovery import DiscoveryRules, iter_files, within
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import KnownFile
from photoindex.indexer.summary import IndexSummary

log = structlog.get_logger(__name__)

# Files stat'ed per trip to a worker thread: ~20 ms of scandir, short enough to cancel promptly.
CHUNK = 2000


@dataclass
class ScanResult:
    """What one scan found and did."""

    folder: str
    root: str
    files: int = 0
    changed: int = 0  # sent to the pipeline
    young: int = 0  # too fresh: handed to the settler
    moved: int = 0
    deleted: int = 0
    adopted: int = 0  # kept from a folder no longer watched, now under this root again
    folders: set[str] = field(default_factory=set)  # folders holding at least one file
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    complete: bool = True  # False: the root went away or the scan was cut short; nothing was removed
    seconds: float = 0.0


class Reconciler:
    """Scans folders against the pipeline's ``IndexState``."""

    def __init__(
        self,
        pipeline: IndexPipeline,
        rules: DiscoveryRules,
        *,
        submit: Callable[[FileFacts], Awaitable[None]],
        repoint: Callable[[Sequence[tuple[str, FileFacts]]], Awaitable[list[str]]],
        too_young: Callable[[FileFacts], None],
        available: Callable[[str], bool],
        summary: IndexSummary,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.pipeline = pipeline
        self.rules = rules
        self._submit = submit
        self._repoint = repoint  # the work tracker's: never while a path of the move is in the pipeline
        self._too_young = too_young
        self._available = available
        self._summary = summary
        self._wall = wall_clock  # compared with file mtimes

    async def scan(self, folder: str, root: str, *, young_s: float) -> ScanResult:
        """Reconcile everything below ``folder`` (``root`` itself for a full scan)."""
        started = time.perf_counter()
        result = ScanResult(folder=folder, root=root)
        if not self._available(root):
            result.complete = False
            return result
        state = self.pipeline.state
        known_here = state.under(root) if folder == root else iter(state.under_dir(folder))
        by_triple: dict[tuple[int, int, int], KnownFile] = {(k.inode, k.size, k.mtime_ns): k for k in known_here}
        seen: set[str] = set()
        held: list[FileFacts] = []  # new paths that look like a known file moved: decided after the walk
        strays: list[tuple[KnownFile, str]] = []  # unchanged files the index files under another root (or none)
        files = _walk(folder, root, self.rules, result.unreadable)
        while chunk := await anyio.to_thread.run_sync(_next_chunk, files, abandon_on_cancel=True):
            models_ok = self.pipeline.models.embedder_error is None
            wall = self._wall()
            for facts in chunk:
                seen.add(facts.path)
                result.folders.add(os.path.dirname(facts.path))
                known = state.unchanged(facts, models_available=models_ok)
                if known is not None:
                    if known.root != root:
                        strays.append((known, root))
                    continue
                if wall - facts.mtime_ns / 1e9 < young_s:
                    self._too_young(facts)
                    result.young += 1
                elif facts.path not in state and (facts.inode, facts.size, facts.mtime_ns) in by_triple:
                    held.append(facts)
                else:
                    await self._submit(facts)
                    result.changed += 1
        result.files = len(seen)
        if any(path == root for path, _reason in result.unreadable) or not self._available(root):
            result.complete = False  # unmounted or unreadable mid-walk: remove nothing
        gone = [
            k
            for k in by_triple.values()
            if k.path not in seen and not _shadowed(k.path, result.unreadable) and not os.path.lexists(k.path)
        ]
        gone_paths = {k.path for k in gone}
        moves = []
        for facts in held:
            donor = by_triple[(facts.inode, facts.size, facts.mtime_ns)]
            if donor.path in gone_paths:
                moves.append((donor.path, facts))
                gone_paths.discard(donor.path)
            else:
                await self._submit(facts)  # a hard link or a second copy: the pipeline reuses the vector
                result.changed += 1
        if strays:
            result.adopted = await adopt(self.pipeline.writer, strays)
        if moves:
            missed = set(await self._repoint(moves))
            result.moved = len(moves) - len(missed)
            for old, facts in moves:
                if old in missed:  # no longer stored: index the new path, drop the old one
                    gone_paths.add(old)
                    await self._submit(facts)
        if result.complete and gone_paths:
            result.deleted = await self.pipeline.remove_paths(sorted(gone_paths), self._summary)
        result.seconds = time.perf_counter() - started
        log.log(
            logging.INFO if folder == root else logging.DEBUG,
            "reconcile.scanned",
            folder=folder,
            files=result.files,
            changed=result.changed,
            young=result.young,
            moved=result.moved,
            deleted=result.deleted,
            adopted=result.adopted,
            complete=result.complete,
            seconds=round(result.seconds, 3),
        )
        return result


def _walk(folder: str, root: str, rules: DiscoveryRules, unreadable: list[tuple[str, str]]) -> Iterator[FileFacts]:
    if folder == root:
        yield from iter_files([root], rules, unreadable)
        return
    if not os.path.isdir(folder):
        return
    for facts in iter_files([folder], rules, unreadable):
        yield msgspec.structs.replace(facts, root=root)


def _next_chunk(files: Iterator[FileFacts]) -> list[FileFacts]:
    return list(itertools.islice(files, CHUNK))


def _shadowed(path: str, unreadable: list[tuple[str, str]]) -> bool:
    """Below a folder the walk could not read: its files may well still be there."""
    return any(within(path, folder) for folder, _reason in unreadable)


__all__ = ["Reconciler", "ScanResult"]
