"""Streamed SHA-256 of a file, with the stat taken before and after reading.

Runs in worker threads: hashlib releases the GIL on large updates, so two
threads hash at disk speed without holding up the event loop.
"""

from __future__ import annotations

import errno
import hashlib
import os

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.records import FileFacts, HashedFile

CHUNK_BYTES = 1 << 20


def stat_facts(path: str, root: str) -> FileFacts:
    """Stat ``path`` (not following a final symlink) into ``FileFacts``; errors become FileError."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError as exc:
        raise _file_error(exc, path) from None
    return FileFacts.from_stat(path, st, root=root)


def hash_file(facts: FileFacts) -> tuple[HashedFile, bool]:
    """Hash the file; the flag says whether it changed (size/mtime) while we read it."""
    digest = hashlib.sha256()
    try:
        with open(facts.path, "rb", buffering=0) as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
    except OSError as exc:
        raise _file_error(exc, facts.path) from None
    after = stat_facts(facts.path, facts.root)
    changed = (after.size, after.mtime_ns) != (facts.size, facts.mtime_ns)
    return HashedFile(facts=after, sha256=digest.hexdigest()), changed


def _file_error(exc: OSError, path: str) -> FileError:
    if isinstance(exc, FileNotFoundError):
        return FileError(f"{path} disappeared before it could be read", code=ErrorCode.VANISHED)
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return FileError(f"no permission to read {path}", code=ErrorCode.PERMISSION)
    return FileError(f"cannot read {path}: {exc.strerror or exc}", code=ErrorCode.IO)
