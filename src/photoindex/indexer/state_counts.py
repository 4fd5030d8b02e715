"""The tallies ``IndexState`` keeps as files are remembered and forgotten, so no question needs a pass over all.

Status reports ask for files by status, failures by code and files per root
every second; the thumbnail sweep asks whether a pending file has some
content. Each is a counter moved by one on every change, instead of a count
taken over every known file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

# A failed file that recorded no code failed to decode (the oldest points carry none).
DEFAULT_FAILURE = "ERR_DECODE"


class StateCounts:
    """Files by status, failed files by error code, files per root, pending files per content hash."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.per_root: Counter[str] = Counter()
        self.pending_shas: Counter[str] = Counter()

    def add(self, *, root: str, status: str, error_code: str | None, sha256: str | None, by: int = 1) -> None:
        """Count one file in (``by=1``) or out (``by=-1``)."""
        _move(self.statuses, status, by)
        _move(self.per_root, root, by)
        if status == "failed":
            _move(self.failures, error_code or DEFAULT_FAILURE, by)
        elif status == "pending" and sha256:
            _move(self.pending_shas, sha256, by)

    def snapshot(self) -> tuple[Mapping[str, int], Mapping[str, int], Mapping[str, int]]:
        """Copies of (statuses, failures, per root): the caller may keep them while the counts move on."""
        return dict(self.statuses), dict(self.failures), dict(self.per_root)


def _move(counter: Counter[str], key: str, by: int) -> None:
    left = counter[key] + by
    if left > 0:
        counter[key] = left
    else:
        del counter[key]  # no zero entries: a root with no files left is no longer reported


__all__ = ["DEFAULT_FAILURE", "StateCounts"]
