"""The states a stored photo and its caption can be in.

The values are what the store's payloads hold (``status``, ``caption_status``)
and what the API reports, so they never change; ``StrEnum`` members compare
equal to those strings and serialise as them.
"""

from __future__ import annotations

from enum import StrEnum


class PhotoStatus(StrEnum):
    """A stored file's ``status``."""

    INDEXED = "indexed"  # has a vector, searchable
    PENDING = "pending"  # decoded and stored, waiting for a model to embed it
    FAILED = "failed"  # could not be indexed; ``error_code`` says why, retried when the file changes


class CaptionStatus(StrEnum):
    """A stored photo's ``caption_status``."""

    DONE = "done"  # ``caption`` holds the caption
    PENDING = "pending"  # the caption pass will (re)try it
    NONE = "none"  # captions are off, or the photo is not indexed
