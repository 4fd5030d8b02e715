"""The rows of ``IndexState``: one known file as a few bytes in typed columns, not a Python object.

A ``KnownFile`` kept per photo costs about a kilobyte at a million photos
(the object, its strings, its ints); here a file is a row: size, mtime and
inode in 64-bit columns, its point id and content hash as raw bytes (16 and
32) in flat buffers, and its root, status, caption status and error code as
small codes into tables of the few distinct values. A ``KnownFile`` is made
again only when someone asks for one. The rare id or hash that is not in its
usual form (a UUID, 64 hex digits) is kept aside as text, so it comes back
exactly as it went in.
"""

from __future__ import annotations

import uuid
from array import array

from photoindex.indexer.state_types import KnownFile

_ID_BYTES = 16
_SHA_BYTES = 32
_NONE = 0  # code 0 of every name table: no value
_WRAP = 1 << 64  # an inode is unsigned 64-bit; the column is signed (-1: unknown), so the top half wraps


def id_key(point_id: str) -> bytes | str:
    """The point id as its 16 UUID bytes, or as itself when it is not a UUID in canonical form."""
    try:
        parsed = uuid.UUID(point_id)
    except ValueError:
        return point_id
    return parsed.bytes if str(parsed) == point_id else point_id


def sha_key(sha256: str) -> bytes | str:
    """The content hash as 32 raw bytes, or as itself when it is not 64 lowercase hex digits."""
    if len(sha256) == 2 * _SHA_BYTES:
        try:
            raw = bytes.fromhex(sha256)
        except ValueError:
            return sha256
        if raw.hex() == sha256:
            return raw
    return sha256


def _uuid_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw))``, without making the UUID (a record is made per file a scan checks)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Names:
    """A few distinct strings (roots, statuses, codes) ↔ small codes; code 0 is None."""

    def __init__(self) -> None:
        self.names: list[str | None] = [None]
        self._codes: dict[str, int] = {}

    def code(self, name: str | None) -> int:
        if name is None:
            return _NONE
        found = self._codes.get(name)
        if found is None:
            found = self._codes[name] = len(self.names)
            self.names.append(name)
        return found


class Rows:
    """Known files by row number; a row is reused once its file is forgotten."""

    def __init__(self) -> None:
        self.paths: list[str | None] = []  # the same string objects the path index is keyed by
        self._size = array("q")
        self._mtime_ns = array("q")
        self._inode = array("q")
        self._root = array("H")
        self._status = array("B")
        self._caption = array("B")
        self._error = array("H")
        self._ids = bytearray()
        self._shas = bytearray()
        self._odd_ids: dict[int, str] = {}  # row → an id not in UUID form
        self._odd_shas: dict[int, str | None] = {}  # row → a hash not in hex form (None: no hash)
        self._free: list[int] = []
        self._roots, self._statuses, self._captions, self._errors = _Names(), _Names(), _Names(), _Names()

    def add(self, known: KnownFile, ids: bytes | str, sha: bytes | str | None) -> int:
        """Store ``known`` (its id and hash already turned into keys) in a free row; returns the row."""
        if self._free:
            row = self._free.pop()
            self.paths[row] = known.path
        else:
            row = len(self.paths)
            self.paths.append(known.path)
            for column in (self._size, self._mtime_ns, self._inode, self._root):
                column.append(0)
            for column in (self._status, self._caption, self._error):
                column.append(0)
            self._ids.extend(bytes(_ID_BYTES))
            self._shas.extend(bytes(_SHA_BYTES))
        self._size[row], self._mtime_ns[row] = known.size, known.mtime_ns
        self._inode[row] = known.inode - _WRAP if known.inode >= _WRAP // 2 else known.inode
        self._root[row] = self._roots.code(known.root)
        self._status[row] = self._statuses.code(known.status)
        self._caption[row] = self._captions.code(known.caption_status)
        self._error[row] = self._errors.code(known.error_code)
        if isinstance(ids, bytes):
            self._ids[row * _ID_BYTES : (row + 1) * _ID_BYTES] = ids
        else:
            self._odd_ids[row] = ids
        if isinstance(sha, bytes):
            self._shas[row * _SHA_BYTES : (row + 1) * _SHA_BYTES] = sha
        else:
            self._odd_shas[row] = sha
        return row

    def remove(self, row: int) -> None:
        self.paths[row] = None
        self._odd_ids.pop(row, None)
        self._odd_shas.pop(row, None)
        self._free.append(row)

    def stat(self, row: int) -> tuple[int, int, int]:
        """(size, mtime_ns, inode): what tells an unchanged file, without making a record."""
        return self._size[row], self._mtime_ns[row], self._inode_of(row)

    def _inode_of(self, row: int) -> int:
        stored = self._inode[row]
        return stored + _WRAP if stored < -1 else stored

    def status(self, row: int) -> str | None:
        return self._statuses.names[self._status[row]]

    def root(self, row: int) -> str:
        return self._roots.names[self._root[row]] or ""

    def id_key(self, row: int) -> bytes | str:
        odd = self._odd_ids.get(row)
        return odd if odd is not None else bytes(self._ids[row * _ID_BYTES : (row + 1) * _ID_BYTES])

    def sha_key(self, row: int) -> bytes | str | None:
        if row in self._odd_shas:
            return self._odd_shas[row]
        return bytes(self._shas[row * _SHA_BYTES : (row + 1) * _SHA_BYTES])

    def known(self, row: int) -> KnownFile:
        """The record of ``row``, made again."""
        path = self.paths[row]
        assert path is not None, "a forgotten row"
        ident = self.id_key(row)
        sha = self.sha_key(row)
        return KnownFile(
            point_id=_uuid_text(ident) if isinstance(ident, bytes) else ident,
            path=path,
            root=self.root(row),
            size=self._size[row],
            mtime_ns=self._mtime_ns[row],
            inode=self._inode_of(row),
            status=self.status(row) or "indexed",
            sha256=sha.hex() if isinstance(sha, bytes) else sha,
            caption_status=self._captions.names[self._caption[row]],
            error_code=self._errors.names[self._error[row]],
        )


__all__ = ["Rows", "id_key", "sha_key"]
