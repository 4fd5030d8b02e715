"""What the index already knows about each file, held in memory for cheap "unchanged" checks.

Loaded once by scrolling this host's points in the store (only the few
payload fields needed; other hosts sharing a server collection are none of
its business), then kept current by the ``IndexWriter`` as it writes. A file whose
size and mtime_ns match what the index recorded costs a dict lookup: no read,
no decode, no inference. A file is held as a row of a few typed columns
(``state_rows``), not as a Python object: about a tenth of the memory at a
million photos (measured by ``bench/state.py``). It is also where a file's point id is found: by its
path when the file is known, else derived for a new photo (``id_for``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from photoindex.indexer.payloads import STATE_FIELDS
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state_counts import StateCounts
from photoindex.indexer.state_folders import FolderTree
from photoindex.indexer.state_rows import Rows, id_key, sha_key
from photoindex.indexer.state_types import KnownFile
from photoindex.indexer.store import PhotoFilter, VectorStore, point_id

# The ``root`` of photos kept in the index after their folder stopped being watched.
UNWATCHED_ROOT = ""


class IndexState:
    """Path → KnownFile, and content hash → the indexed files whose vector can be reused.

    Every question asked on the way of one file (its record, its point id, a
    file with the same content) and every count the status reports is answered
    from an index or a tally kept as files are remembered and forgotten, never
    by a pass over every known file.
    """

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        self._rows = Rows()
        self._row_of: dict[str, int] = {}  # path → row
        self._row_of_id: dict[bytes | str, int] = {}  # point id key → row: which ids are taken
        # Content hash key → the row of an indexed file with it, or the rows when several (copies) have it.
        self._indexed_by_sha: dict[bytes | str, int | list[int]] = {}
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
        return len(self._row_of)

    def __contains__(self, path: object) -> bool:
        return path in self._row_of

    def __getitem__(self, path: str) -> KnownFile:
        return self._rows.known(self._row_of[path])

    def get(self, path: str) -> KnownFile | None:
        """The record of the file at ``path``, if the index knows it."""
        row = self._row_of.get(path)
        return None if row is None else self._rows.known(row)

    def paths(self) -> list[str]:
        """Every known path (a pass over the whole library: for tests and one-off tools, never per file)."""
        return list(self._row_of)

    def files(self) -> list[KnownFile]:
        """Every known file (a pass over the whole library, as ``paths``)."""
        return [self._rows.known(row) for row in list(self._row_of.values())]

    def remember(self, known: KnownFile) -> None:
        self.forget(known.path)
        ident = id_key(known.point_id)
        holder = self._row_of_id.get(ident)
        if holder is not None:
            old_path = self._rows.paths[holder]
            if old_path is not None:
                self.forget(old_path)  # that path's point was just rewritten as this one: it is no longer indexed
        sha = sha_key(known.sha256) if known.sha256 else None
        row = self._rows.add(known, ident, sha)
        self._row_of[known.path] = row
        self._row_of_id[ident] = row
        if known.status == "indexed" and sha is not None:
            self._add_sha(sha, row)
        self._folders.add(known.path)
        self._counts.add(root=known.root, status=known.status, error_code=known.error_code, sha256=known.sha256)

    def forget(self, path: str) -> KnownFile | None:
        row = self._row_of.pop(path, None)
        if row is None:
            return None
        known = self._rows.known(row)
        ident = id_key(known.point_id)
        if self._row_of_id.get(ident) == row:
            del self._row_of_id[ident]
        if known.status == "indexed" and known.sha256:
            self._drop_sha(sha_key(known.sha256), row)
        self._folders.discard(path)
        self._counts.add(root=known.root, status=known.status, error_code=known.error_code, sha256=known.sha256, by=-1)
        self._rows.remove(row)
        return known

    def path_of(self, point_id: str) -> str | None:
        """The path of the known file whose point has this id, if any."""
        row = self._row_of_id.get(id_key(point_id))
        return None if row is None else self._rows.paths[row]

    def id_for(self, path: str, *, taken: Mapping[str, str] | None = None) -> str:
        """The point id for the file at ``path``: its own when known, else a new photo's.

        A new photo's id is derived from (host, path), so a run killed after
        writing it and restarted finds it by path rather than adding another;
        a candidate some other photo carries (one moved away from this path)
        is passed over, and so is any id in ``taken`` (id → path, claimed but
        not yet remembered).
        """
        claimed = taken or {}
        known = self.get(path)
        if known is not None and claimed.get(known.point_id, path) == path:
            return known.point_id
        attempt = 0
        while True:
            candidate = point_id(self.host_id, path, attempt)
            holder = claimed.get(candidate) or self.path_of(candidate)
            if holder is None:
                return candidate
            attempt += 1

    def indexed_with(self, sha256: str) -> KnownFile | None:
        """An indexed file with this content (its vector can be reused), if any."""
        rows = self._indexed_by_sha.get(sha_key(sha256))
        if rows is None:
            return None
        return self._rows.known(rows if isinstance(rows, int) else rows[0])

    def has_indexed(self, sha256: str) -> bool:
        """Whether some indexed file has this content (cheap, and safe to ask from another thread)."""
        return sha_key(sha256) in self._indexed_by_sha

    def unchanged(self, facts: FileFacts, *, models_available: bool) -> KnownFile | None:
        """The record when ``facts`` needs no work; None when the file must be (re)processed."""
        row = self._row_of.get(facts.path)
        if row is None or self._rows.stat(row) != (facts.size, facts.mtime_ns, facts.inode):
            return None
        if self._rows.status(row) == "pending" and models_available:
            return None  # it was stored without a vector; a model is here now
        return self._rows.known(row)

    def under(self, root: str) -> Iterator[KnownFile]:
        """The known files of ``root`` (a copy: the state may change while they are gone through)."""
        # One pass over the rows' root codes: this serves whole-root work (a scan, a folder dropped), never one file.
        rows = self._rows
        for path in [p for p, r in self._row_of.items() if rows.root(r) == root]:
            known = self.get(path)
            if known is not None:
                yield known

    def count_under(self, root: str) -> int:
        return self._counts.per_root.get(root, 0)

    def under_dir(self, folder: str) -> list[KnownFile]:
        """Every known file anywhere below ``folder``."""
        return [self[p] for p in self._folders.below(folder)]

    def counts(self) -> tuple[Mapping[str, int], Mapping[str, int], Mapping[str, int]]:
        """Known files by status, failed files by error code, and known files per root (copies, kept as counted)."""
        return self._counts.snapshot()

    def has_pending(self, sha256: str) -> bool:
        """Whether some file stored without a vector yet (pending) has this content."""
        return self._counts.pending_shas.get(sha256, 0) > 0

    def _add_sha(self, sha: bytes | str, row: int) -> None:
        rows = self._indexed_by_sha.get(sha)
        if rows is None:
            self._indexed_by_sha[sha] = row
        elif isinstance(rows, int):
            self._indexed_by_sha[sha] = [rows, row]
        else:
            rows.append(row)

    def _drop_sha(self, sha: bytes | str, row: int) -> None:
        rows = self._indexed_by_sha.get(sha)
        if rows == row:
            del self._indexed_by_sha[sha]
        elif isinstance(rows, list):
            rows.remove(row)
            if len(rows) == 1:
                self._indexed_by_sha[sha] = rows[0]


__all__ = ["UNWATCHED_ROOT", "IndexState", "KnownFile"]
