"""Paging: the bounds of a page, the one order of every ranked list, and opaque cursors.

Every ranked list has a total order: score, best first, then the photo id
(a duplicate group's keeper id, a map point's id) as the tie-breaker. Copies
of one photo have identical vectors, so their scores tie exactly; without the
tie-breaker their order would depend on how much the store was asked for.

A cursor names the last item served (its sort key) and the query it belongs
to (a fingerprint of everything that decides the ranking). The next page is
every item whose sort key comes after it, so a photo added or removed between
two pages moves no other photo across the page boundary: nothing repeats,
nothing is skipped. ``offset`` counts positions in the same order, which shift
when the library changes; only the cursor is exact.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec
import numpy as np

from photoindex.library.captions_index import CaptionMatch
from photoindex.library.errors import Rejected

MAX_LIMIT = 200  # results per page, for every ranked list the API serves
MAX_OFFSET = 10_000  # deeper than this, page with the cursor (or narrow the filters)
MAX_CURSOR_CHARS = 512
# Scores are compared as the store reports them, rounded: the same stored vector against the same
# query vector gives the same rounded value on every page, whatever else the store returned with it.
SCORE_DECIMALS = 6

SortKey = tuple[float | int | str, ...]
T = TypeVar("T")


def rounded(score: float) -> float:
    return round(float(score), SCORE_DECIMALS)


@dataclass(frozen=True)
class Position:
    """The last photo a ranked page served: its score and id."""

    score: float
    id: str

    def before(self, score: float, point_id: str) -> bool:
        """True when (score, point_id) comes after this position in the ranking."""
        return score < self.score or (score == self.score and point_id > self.id)


def rank_key(score: float, point_id: str) -> tuple[float, str]:
    """The ascending sort key of a ranked hit: best score first, then the photo id."""
    return (-score, point_id)


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    """Where the next page starts: after ``key``, ``rank`` items into the query ``query``.

    ``skip`` and ``ties`` are hints that save work (how many store hits rank before the key,
    how many tie with it), never trusted.
    """

    query: str
    rank: int
    key: tuple[float | int | str, ...]
    skip: int = 0
    ties: int = 0


def fingerprint(*parts: object) -> str:
    """A short digest of everything that decides a ranking (query, filters, thresholds)."""
    return hashlib.sha256(msgspec.json.encode(parts)).hexdigest()[:24]


def encode_cursor(query: str, rank: int, key: SortKey, skip: int = 0, ties: int = 0) -> str:
    raw = msgspec.msgpack.encode(Cursor(query, rank, tuple(key), skip, ties))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text: str, query: str, *, shape: tuple[type, ...]) -> Cursor:
    """The cursor in ``text``, checked to continue ``query`` with a key of types ``shape``."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor = msgspec.msgpack.decode(raw, type=Cursor)
    except (ValueError, binascii.Error, msgspec.DecodeError, msgspec.ValidationError):
        raise Rejected("cursor is not one this server gave out", reason="invalid") from None
    if cursor.query != query:
        raise Rejected("cursor belongs to another query (a different text, filters or thresholds)", reason="invalid")
    if (
        min(cursor.rank, cursor.skip, cursor.ties) < 0
        or len(cursor.key) != len(shape)
        or not all(
            isinstance(value, kind) and not isinstance(value, bool)
            for value, kind in zip(cursor.key, shape, strict=True)
        )
    ):
        raise Rejected("cursor is not one this server gave out", reason="invalid")
    return cursor


def search_position(cursor: Cursor) -> Position:
    """The ranked-hit position a search cursor's key ``(-score, id)`` names."""
    score, point_id = cursor.key
    assert isinstance(score, float) and isinstance(point_id, str)
    return Position(-score, point_id)


@dataclass
class PinnedQuery:
    """What every page of one query ranks by: its vector, and the caption matches of its first page."""

    vector: np.ndarray
    upload_id: str | None = None  # an image query's upload, reusable in a combined search
    caption_matches: Mapping[str, CaptionMatch] | None = None


class Pinned(Generic[T]):
    """A few recent queries' vectors by fingerprint, so every page of a query ranks by the same vector.

    A text embedded again is the same vector for the same batch shape, an image
    decoded again too; keeping the vector also saves that work on each page.
    """

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, T] = OrderedDict()
        self._size = size

    def get(self, key: str) -> T | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, item: T) -> None:
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


__all__ = [
    "MAX_CURSOR_CHARS",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "Cursor",
    "Pinned",
    "PinnedQuery",
    "Position",
    "SortKey",
    "decode_cursor",
    "encode_cursor",
    "fingerprint",
    "rank_key",
    "rounded",
    "search_position",
]
