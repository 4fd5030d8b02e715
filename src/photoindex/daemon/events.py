"""Turn filesystem events into index work: settle a write, confirm a deletion, re-point a move.

A rename or move inside a root is re-pointed: the point keeps its vector,
payload and thumbnail and gets the new path, without reading, decoding or
embedding anything (a moved folder of 1,000 photos is 1,000 stats and a few
store batches). That holds only while the file at the new path is the one
indexed (same inode, size and mtime), and neither path is in the pipeline;
otherwise the move is a deletion plus a new file. Moves go through the
``WorkTracker``, like the files handed to the pipeline, so a path is never
indexed and re-pointed at once. Everything else goes to the settler, which
decides when a file is complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import anyio
import structlog

from photoindex.daemon.watcher import FsEvent
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.indexer.discovery import DiscoveryRules, within
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import KnownFile

log = structlog.get_logger(__name__)


class EventRouter:
    """Applies ``FsEvent`` records, in order, to the settler and (moves, through ``work``) the index."""

    def __init__(
        self,
        pipeline: IndexPipeline,
        rules: DiscoveryRules,
        *,
        work: WorkTracker,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.pipeline = pipeline  # read for its state only
        self.settler = work.settler
        self.rules = rules
        self._work = work
        self._clock = clock
        self._wall = wall_clock  # compared with file mtimes
        self.applied = 0

    def wanted(self, path: str, root: str) -> bool:
        """A path the library counts: below the root, through wanted folders, with a wanted name."""
        if not within(path, root) or path == root:
            return False
        parts = path[len(root.rstrip("/")) + 1 :].split("/")
        return all(self.rules.wants_dir(p) for p in parts[:-1]) and self.rules.wants_name(parts[-1])

    async def apply(self, event: FsEvent) -> None:
        self.applied += 1
        now = self._clock()
        kind, path, root = event.kind, event.path, event.root
        if kind == "moved":
            await self._moved(path, event.dest, root, now)
        elif kind == "dir_moved":
            await self._dir_moved(path, event.dest, root, now)
        elif kind == "dir_deleted":
            if path != root:  # the root itself going away is the health check's business
                self.settler.forget_under(path)
                self.settler.rescan_later(path, root, now, self.settler.delete_delay_s)
        elif kind == "dir_created":
            pass  # watchdog walks a new folder and reports the files in it one by one
        elif kind == "deleted":
            if self.settler.pending(path) or path in self.pipeline.state or self._work.holds(path):
                self.settler.gone(path, root, now)
        elif self.wanted(path, root):
            if kind == "closed":
                self.settler.closed(path, root, now)
            elif kind == "created" and self._written_long_ago(path):
                self.settler.arrived(path, root, now)  # moved in from outside: complete already
            else:
                self.settler.written(path, root, now)

    def _written_long_ago(self, path: str) -> bool:
        try:
            mtime = os.stat(path, follow_symlinks=False).st_mtime
        except OSError:
            return False
        return self._wall() - mtime >= self.settler.settle_s

    async def _moved(self, src: str, dest: str, root: str, now: float) -> None:
        self.settler.forget(src)
        dest_wanted = bool(dest) and self.wanted(dest, root)
        state = self.pipeline.state
        known = state.get(src)
        if known is not None and dest_wanted and not self._work.holds(src):
            facts = _same_file(known, dest, root)
            if facts is not None:
                missed = await self._work.repoint([(src, facts)])
                if not missed:
                    log.debug("watch.repointed", src=src, dest=dest)
                    return
        if known is not None or self._work.holds(src):
            self.settler.gone(src, root, now)
        if not dest_wanted:
            return
        dest_known = state.get(dest)
        if dest_known is not None and _same_file(dest_known, dest, root) is not None:
            return  # already re-pointed with its folder (watchdog repeats a folder move file by file)
        self.settler.arrived(dest, root, now)

    async def _dir_moved(self, src: str, dest: str, root: str, now: float) -> None:
        self.settler.forget_under(src)
        known = self.pipeline.state.under_dir(src)
        if not dest or not within(dest, root):
            self.settler.rescan_later(src, root, now, self.settler.delete_delay_s)
            return
        candidates = [(k, dest + k.path[len(src) :]) for k in known if not self._work.holds(k.path)]
        candidates = [(k, new) for k, new in candidates if self.wanted(new, root)]

        def match() -> list[tuple[str, FileFacts]]:
            found = []
            for k, new in candidates:
                facts = _same_file(k, new, root)
                if facts is not None:
                    found.append((k.path, facts))
            return found

        moves = await anyio.to_thread.run_sync(match)
        missed = set(await self._work.repoint(moves))
        moved = {old for old, _facts in moves} - missed
        for k in known:
            if k.path not in moved:
                self.settler.gone(k.path, root, now)
        log.info("watch.folder_moved", src=src, dest=dest, repointed=len(moved), known=len(known))
        # Files not indexed yet (or still being written) were moved too: look at the new folder once quiet.
        self.settler.rescan_later(dest, root, now)


def _same_file(known: KnownFile, path: str, root: str) -> FileFacts | None:
    """Facts of ``path`` when it is the file ``known`` describes (a rename keeps inode, size and mtime)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if (st.st_ino, st.st_size, st.st_mtime_ns) != (known.inode, known.size, known.mtime_ns):
        return None
    return FileFacts(path=path, root=root, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


__all__ = ["EventRouter"]
