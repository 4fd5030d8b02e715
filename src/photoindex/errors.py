"""Every error photoindex raises, each carrying one stable code.

Hierarchy::

    PhotoindexError                 base; .code is an ErrorCode
    ├── ConfigError                 invalid settings (a list of problems, each with a key path)
    ├── FileError                   one file could not be indexed (decode, format, size, I/O)
    ├── ModelError                  a model could not be loaded or failed on a batch
    └── StoreError                  the vector store failed or is held by another process

A FileError never escapes its file: the pipeline records it against the path
and moves on. Only the CLI and the query API turn errors into exit codes or
HTTP problem details.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes: shown to users, stored with failed files, used by the API."""

    CONFIG_INVALID = "ERR_CONFIG_INVALID"
    DECODE = "ERR_DECODE"
    DECODE_RAW = "ERR_DECODE_RAW"
    DECODE_TIMEOUT = "ERR_DECODE_TIMEOUT"
    UNSUPPORTED_FORMAT = "ERR_UNSUPPORTED_FORMAT"
    MISSING_CODEC = "ERR_MISSING_CODEC"
    TOO_LARGE = "ERR_TOO_LARGE"
    TRUNCATED = "ERR_TRUNCATED"
    EMPTY_FILE = "ERR_EMPTY_FILE"
    PERMISSION = "ERR_PERMISSION"
    VANISHED = "ERR_VANISHED"
    STILL_WRITING = "ERR_STILL_WRITING"
    IO = "ERR_IO"
    EMBED = "ERR_EMBED"
    CAPTION = "ERR_CAPTION"
    STORE = "ERR_STORE"
    STORE_IN_USE = "ERR_STORE_IN_USE"
    DISK_FULL = "ERR_DISK_FULL"
    MODEL_UNAVAILABLE = "ERR_MODEL_UNAVAILABLE"
    NOT_FOUND = "ERR_NOT_FOUND"
    DAEMON_START = "ERR_DAEMON_START"  # a daemon started in the background exited or never became ready


class PhotoindexError(Exception):
    """Base of all photoindex errors; ``code`` is stable, ``message`` is for people."""

    code: ErrorCode = ErrorCode.IO

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigError(PhotoindexError):
    """Settings that cannot be used; ``problems`` holds one line per problem."""

    code = ErrorCode.CONFIG_INVALID

    def __init__(self, problems: list[str], *, source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}: " + "; ".join(problems))


class FileError(PhotoindexError):
    """One file could not be indexed; recorded with its code, retried when it changes."""

    code = ErrorCode.DECODE


class ModelError(PhotoindexError):
    """A model could not be loaded (offline, out of memory) or failed on a batch."""

    code = ErrorCode.MODEL_UNAVAILABLE


class StoreError(PhotoindexError):
    """The vector store failed, or another process holds it."""

    code = ErrorCode.STORE


__all__ = [
    "ConfigError",
    "ErrorCode",
    "FileError",
    "ModelError",
    "PhotoindexError",
    "StoreError",
]
