"""Whether each library root is there, so a vanished root is never mistaken for deleted photos.

A root is available when it is a readable folder and, if it was a mount
point when last seen available, it still is one: an unmounted drive leaves
its empty mount-point folder behind, which must not read as "every photo was
deleted". What was seen is kept in ``<state dir>/roots.json`` so a daemon
that starts while the drive is away knows it too. The photos of an
unavailable root stay in the index with ``available = false`` in their
payload, and get ``available = true`` back when it returns. The photos of a
root that is no longer watched stay too (``root`` empty) unless purged, and
are adopted by the next root found to hold them.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from photoindex.indexer.disk.mounts import filesystem_of, is_mount_point, is_network_fs, read_mounts
from photoindex.indexer.state import UNWATCHED_ROOT, KnownFile
from photoindex.indexer.writer import IndexWriter

log = structlog.get_logger(__name__)

ROOTS_FILE = "roots.json"
FIX_MISSING = (
    "mount the drive or restore the folder: its photos are kept (marked unavailable) and come back "
    "when it returns; to drop them for good, remove it from watch.folders"
)


@dataclass(frozen=True)
class RootFacts:
    """What a root looked like the last time it was available."""

    mount_point: bool
    fstype: str

    @property
    def network(self) -> bool:
        return is_network_fs(self.fstype)


class RootRegistry:
    """Availability checks against the facts recorded per root."""

    def __init__(self, state_dir: Path) -> None:
        self._file = state_dir / ROOTS_FILE
        self._facts: dict[str, RootFacts] = {}
        self._unavailable: set[str] = set()  # roots whose photos carry available = false
        try:
            raw = json.loads(self._file.read_text(encoding="utf-8"))
            for root, facts in raw.items():
                self._facts[root] = RootFacts(bool(facts["mount_point"]), str(facts["fstype"]))
                if facts.get("marked_unavailable"):
                    self._unavailable.add(root)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # nothing recorded yet (or unreadable): every root is judged as it stands

    def facts(self, root: str) -> RootFacts | None:
        return self._facts.get(root)

    def check(self, root: str) -> str | None:
        """None when ``root`` is available; else why not."""
        try:
            if not os.path.isdir(root):
                return "the folder is missing (unmounted, renamed or deleted)"
            with os.scandir(root) as entries:
                next(entries, None)  # readable; one entry is enough to know
        except PermissionError:
            return "no permission to read the folder"
        except OSError as exc:
            return f"the folder cannot be read: {exc.strerror or exc}"
        recorded = self._facts.get(root)
        if recorded is not None and recorded.mount_point and not is_mount_point(root):
            return "the folder is an empty mount point: its drive or share is not mounted"
        return None

    def record(self, root: str) -> RootFacts:
        """Remember how an available root looks (mount point, filesystem)."""
        mounts = read_mounts()
        facts = RootFacts(mount_point=is_mount_point(root, mounts), fstype=filesystem_of(root, mounts))
        if self._facts.get(root) != facts:
            self._facts[root] = facts
            self._save()
        return facts

    def marked_unavailable(self, root: str) -> bool:
        """Whether the photos of ``root`` were marked unavailable (and must be marked back)."""
        return root in self._unavailable

    def set_marked_unavailable(self, root: str, marked: bool) -> None:
        if marked == (root in self._unavailable):
            return
        if marked:
            self._unavailable.add(root)
        else:
            self._unavailable.discard(root)
        self._save()

    def _save(self) -> None:
        data: dict[str, dict[str, object]] = {
            root: {"mount_point": f.mount_point, "fstype": f.fstype} for root, f in self._facts.items()
        }
        for root in self._unavailable:
            data.setdefault(root, {"mount_point": False, "fstype": "unknown"})["marked_unavailable"] = True
        self._file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self._file.parent, prefix=".roots.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
            os.replace(temp, self._file)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            log.warning("roots.save_failed", error=str(exc))


async def mark_availability(writer: IndexWriter, root: str, available: bool) -> int:
    """Set ``available`` on the payload of every photo of ``root``; returns how many were marked."""
    marked = await writer.mark_available(root, available)
    log.info("roots.marked", root=root, available=available, photos=marked)
    return marked


async def unwatch_root(writer: IndexWriter, root: str) -> int:
    """Keep every photo of a root no longer watched, marked as outside any watched folder; returns how many."""
    return await writer.set_roots([(k, UNWATCHED_ROOT) for k in writer.state.under(root)])


async def adopt(writer: IndexWriter, files: list[tuple[KnownFile, str]]) -> int:
    """Give known, unchanged files the root now watching them (a folder watched again): no read, no inference."""
    return await writer.set_roots(files)


async def drop_root(writer: IndexWriter, root: str) -> int:
    """Remove every photo of a root that is no longer watched (the files stay on disk)."""
    return await writer.remove_known(list(writer.state.under(root)))


__all__ = ["FIX_MISSING", "RootFacts", "RootRegistry", "adopt", "drop_root", "mark_availability", "unwatch_root"]
