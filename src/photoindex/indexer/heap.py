"""Hand freed heap pages back to the OS: glibc keeps them after large frees otherwise."""

from __future__ import annotations

import ctypes

__all__ = ["trim_heap"]


def trim_heap() -> None:
    """``malloc_trim(0)`` where the process has glibc's symbols; a no-op elsewhere."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
