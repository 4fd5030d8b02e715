"""Files that could not be indexed: counted by error code and listed page by page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoFilter, PhotoPayload, VectorStore

_FAILED = PhotoFilter(statuses=(PhotoStatus.FAILED,))
_FIELDS = ("path", "root", "size", "error_code", "error_message", "indexed_at")


@dataclass(frozen=True)
class FailurePage:
    total: int
    items: list[tuple[str, PhotoPayload]]  # (point id, payload with _FIELDS)


def failures_by_code(store: VectorStore) -> dict[str, int]:
    """Failed files per error code (blocking; failures are few, one scroll of one field)."""
    counts = Counter(
        p.payload.error_code if p.payload.error_code is not None else "ERR_DECODE"
        for p in store.scroll(flt=_FAILED, fields=("error_code",))
    )
    return dict(sorted(counts.items()))


def failure_page(store: VectorStore, *, offset: int, limit: int, code: str | None = None) -> FailurePage:
    """Failed files ordered by path (blocking)."""
    rows = [
        (p.id, p.payload)
        for p in store.scroll(flt=_FAILED, fields=_FIELDS)
        if code is None or p.payload.error_code == code
    ]
    rows.sort(key=lambda item: item[1].path or "")
    return FailurePage(total=len(rows), items=rows[offset : offset + limit])


__all__ = ["FailurePage", "failure_page", "failures_by_code"]
