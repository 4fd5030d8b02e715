"""What the index already knows about each file, held in memory for cheap "unchanged" checks.

Loaded once by scrolling this host's points in the store (only the few
payload fields needed; other hosts sharing a server collection are none of
its business), then kept current by the ``IndexWriter`` as it writes. A file whose
size and mtime_ns match what the index recorded costs a dict lookup: no read,
no decode, no inference. It is also where a file's point id is found: by its
path when the file is known, else derived for a new photo (``id_for``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from photoindex.indexer.payloads import STATE_FIELDS
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state_counts import StateCounts
from photoindex.indexer.state_folders import FolderTree
from photoindex.indexer.store import PhotoFilter, VectorStore, point_id

# The ``root`` of photos kept in the index after their folder stopped being watched.
UNWATCHED_ROOT = ""


@dataclass(frozen=True)
class KnownFile:
    """One indexed (or failed, or pending) file as the store records it."""

    point_id: str
    path: str
    root: str
    size: int
    mtime_ns: int
    inode: int
    status: str  # indexed | pending | failed
    sha256: str | None
    caption_status: str | None = None
    error_code: str | None = None


class IndexState:
    """Path → KnownFile, and content hash → the indexed files whose vector can be reused.

    Every question asked on the way of one file (its record, its point id, a
    file with the same content) and every count the status reports is answered
    from an index or a tally kept as files are remembered and forgotten, never
    by a pass over every known file.
    """

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        self.by_path: dict[str, KnownFile] = {}
        self._paths_by_id: dict[str, str] = {}  # point id → path: which ids are taken
        self._indexed_by_sha: dict[str, set[str]] = {}  # sha256 → paths of indexed points
        self._by_root: dict[str, dict[str, None]] = {}  # root → its paths (an ordered set)
        self._folders = FolderTree()
        self._counts = StateCounts()

    @classmethod
    def load(cls, store: VectorStore, *, host_id: str, roots: tuple[str, ...] | None = None) -> IndexState:
        """This host's points (optionally of some roots only)."""
        state = cls(host_id)
        flt = PhotoFilter(host_ids=(host_id,), roots=roots)
        for point in store.scroll(flt=flt, fields=STATE_FIELDS):
            p = point.payload
            if p.path is None:
                raise KeyError("path")  # every photo point has one
            state.remember(
                KnownFile(
                    point_id=point.id,
                    path=p.path,
                    root=p.root if p.root is not None else "",
                    size=p.size if p.size is not None else -1,
                    mtime_ns=p.mtime_ns if p.mtime_ns is not None else -1,
                    inode=p.inode if p.inode is not None else -1,
                    status=p.status if p.status is not None else "indexed",
                    sha256=p.sha256,
                    caption_status=p.caption_status,
                    error_code=p.error_code,
                )
            )
        return state

    def __len__(self) -> int:
        return len(self.by_path)

    def __contains__(self, path: object) -> bool:
        return path in self.by_path

    def __getitem__(self, path: str) -> KnownFile:
        return self.by_path[path]

    def paths(self) -> list[str]:
        """Every known path (a pass over the whole library: for tests and one-off tools, never per file)."""
        return list(self.by_path)

    def files(self) -> list[KnownFile]:
        """Every known file (a pass over the whole library, as ``paths``)."""
        return list(self.by_path.values())

    def get(self, path: str) -> KnownFile | None:
        """The record of the file at ``path``, if the index knows it."""
        return self.by_path.get(path)

    def remember(self, known: KnownFile) -> None:
        self.forget(known.path)
        holder = self._paths_by_id.get(known.point_id)
        if holder is not None:
            self.forget(holder)  # that path's point was just rewritten as this one: it is no longer indexed
        self.by_path[known.path] = known
        self._paths_by_id[known.point_id] = known.path
        if known.status == "indexed" and known.sha256:
            self._indexed_by_sha.setdefault(known.sha256, set()).add(known.path)
        self._by_root.setdefault(known.root, {})[known.path] = None
        self._folders.add(known.path)
        self._counts.add(root=known.root, status=known.status, error_code=known.error_code, sha256=known.sha256)

    def forget(self, path: str) -> KnownFile | None:
        known = self.by_path.pop(path, None)
        if known is None:
            return None
        if self._paths_by_id.get(known.point_id) == path:
            del self._paths_by_id[known.point_id]
        in_root = self._by_root[known.root]
        del in_root[path]
        if not in_root:
            del self._by_root[known.root]
        self._folders.discard(path)
        self._counts.add(root=known.root, status=known.status, error_code=known.error_code, sha256=known.sha256, by=-1)
        if known.sha256:
            paths = self._indexed_by_sha.get(known.sha256)
            if paths is not None:
                paths.discard(path)
                if not paths:
                    del self._indexed_by_sha[known.sha256]
        return known

    def path_of(self, point_id: str) -> str | None:
        """The path of the known file whose point has this id, if any."""
        return self._paths_by_id.get(point_id)

    def id_for(self, path: str, *, taken: Mapping[str, str] | None = None) -> str:
        """The point id for the file at ``path``: its own when known, else a new photo's.

        A new photo's id is derived from (host, path), so a run killed after
        writing it and restarted finds it by path rather than adding another;
        a candidate some other photo carries (one moved away from this path)
        is passed over, and so is any id in ``taken`` (id → path, claimed but
        not yet remembered).
        """
        claimed = taken or {}
        known = self.by_path.get(path)
        if known is not None and claimed.get(known.point_id, path) == path:
            return known.point_id
        attempt = 0
        while True:
            candidate = point_id(self.host_id, path, attempt)
            holder = claimed.get(candidate) or self._paths_by_id.get(candidate)
            if holder is None:
                return candidate
            attempt += 1

    def indexed_with(self, sha256: str) -> KnownFile | None:
        """An indexed file with this content (its vector can be reused), if any."""
        paths = self._indexed_by_sha.get(sha256)
        return self.by_path[next(iter(paths))] if paths else None

    def has_indexed(self, sha256: str) -> bool:
        """Whether some indexed file has this content (cheap, and safe to ask from another thread)."""
        return bool(self._indexed_by_sha.get(sha256))

    def unchanged(self, facts: FileFacts, *, models_available: bool) -> KnownFile | None:
        """The record when ``facts`` needs no work; None when the file must be (re)processed."""
        known = self.by_path.get(facts.path)
        if known is None or (known.size, known.mtime_ns, known.inode) != (facts.size, facts.mtime_ns, facts.inode):
            return None
        if known.status == "pending" and models_available:
            return None  # it was stored without a vector; a model is here now
        return known

    def under(self, root: str) -> Iterator[KnownFile]:
        """The known files of ``root`` (a copy: the state may change while they are gone through)."""
        for path in list(self._by_root.get(root, ())):
            known = self.by_path.get(path)
            if known is not None:
                yield known

    def count_under(self, root: str) -> int:
        return self._counts.per_root.get(root, 0)

    def under_dir(self, folder: str) -> list[KnownFile]:
        """Every known file anywhere below ``folder``."""
        return [self.by_path[p] for p in self._folders.below(folder)]

    def counts(self) -> tuple[Mapping[str, int], Mapping[str, int], Mapping[str, int]]:
        """Known files by status, failed files by error code, and known files per root (copies, kept as counted)."""
        return self._counts.snapshot()

    def has_pending(self, sha256: str) -> bool:
        """Whether some file stored without a vector yet (pending) has this content."""
        return self._counts.pending_shas.get(sha256, 0) > 0
