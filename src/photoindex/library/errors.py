"""``Rejected``: a request the library will not carry out, with a one-word reason the API maps to HTTP."""

from __future__ import annotations

from typing import Literal

from photoindex.errors import ErrorCode, PhotoindexError

Reason = Literal["invalid", "forbidden", "conflict", "unavailable", "too_large", "unsupported"]


class Rejected(PhotoindexError):
    """Bad input, a path outside what may be touched, a conflicting change, a missing collaborator."""

    def __init__(self, message: str, *, reason: Reason, code: ErrorCode = ErrorCode.CONFIG_INVALID) -> None:
        super().__init__(message, code=code)
        self.reason: Reason = reason


__all__ = ["Reason", "Rejected"]
