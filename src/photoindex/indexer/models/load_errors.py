"""Describe a failed model load in one line: the cause, and whether the hub was offline or unreachable."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photoindex.indexer.models.hub import HubAccess


def offline_note() -> str:
    """ " (HF_HUB_OFFLINE is set)" when downloads are switched off, else nothing."""
    from huggingface_hub import is_offline_mode

    return " (HF_HUB_OFFLINE is set)" if is_offline_mode() else ""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (hub errors run to many lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_cause(access: HubAccess | None, exc: BaseException) -> str:
    """What follows "could not load X" in a load error: ``": why"``, naming an unreachable hub plainly.

    ``access`` is what the hub probe found (None when the load needed no hub).
    """
    if access is not None and access.unreachable is not None and _missing_from_cache(exc):
        return (
            f": the model hub {access.endpoint} cannot be reached ({access.unreachable}) "
            "and the weights are not in the local cache; connect and run again"
        )
    note = access.note() if access is not None else offline_note()
    return f"{note}: {first_line(exc)}"


def _missing_from_cache(exc: BaseException) -> bool:
    """Whether the load failed because the hub library found no local copy (anywhere in the chain)."""
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
