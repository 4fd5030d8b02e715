"""One daemon per data directory: an advisory lock file held for the daemon's lifetime.

``fcntl.flock`` locks belong to the open file, so the kernel releases them
when the process ends in any way, ``kill -9`` included: there is never a
stale lock to clean up. The file records the owner's pid for messages and
for ``photoindex status``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from photoindex.errors import ErrorCode, StoreError

LOCK_NAME = "serve.lock"


class OwnerLock:
    """Held by the running daemon; a second ``acquire`` on the same folder fails at once."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path, *, data_dir: Path | None = None) -> OwnerLock:
        """Take the lock or raise StoreError(ERR_STORE_IN_USE) naming the process that holds it."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_pid(fd)
            os.close(fd)
            who = f" (pid {owner})" if owner else ""
            where = data_dir or state_dir
            raise StoreError(
                f"photoindex is already running for {where}{who}; stop it first "
                f"(systemctl --user stop photoindex, or kill {owner or 'it'}), or give this one other paths",
                code=ErrorCode.STORE_IN_USE,
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the lock; the file stays (unlinking it would race a new owner)

    def __enter__(self) -> OwnerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def running_pid(state_dir: Path) -> int | None:
    """The pid of the daemon holding the lock in ``state_dir``; None when none holds it."""
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1  # held: someone runs, even if the pid is unreadable
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


__all__ = ["LOCK_NAME", "OwnerLock", "running_pid"]
