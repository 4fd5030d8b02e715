"""Describe a failed model load in one line: the cause, and whether the hub was offline."""

from __future__ import annotations


def offline_note() -> str:
    """ " (HF_HUB_OFFLINE is set)" when downloads are switched off, else nothing."""
    from huggingface_hub import is_offline_mode

    return " (HF_HUB_OFFLINE is set)" if is_offline_mode() else ""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (hub errors run to many lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
