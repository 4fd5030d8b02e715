"""Duplicate groups as served: members with what tells them apart, the suggested keeper, thresholds echoed."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from photoindex.library.duplicates.dismissed import KEY_PATTERN
from photoindex.query_api.schemas.common import VersionInfo

GroupId = Annotated[str, Meta(pattern=KEY_PATTERN, description="a group's name by its members (32 hex digits)")]


class Thresholds(msgspec.Struct, kw_only=True):
    kind: str
    max_distance: int | None = None  # near: Hamming bits between perceptual hashes
    min_score: float | None = None  # similar: cosine similarity
    include_exact: bool


class Member(msgspec.Struct, kw_only=True):
    id: str
    path: str | None
    size: int
    width: int
    height: int
    format: str | None
    sha256: str | None
    keeper: bool
    distance: int | None = None  # near: bits from the keeper's hash
    similarity: float | None = None  # similar: best similarity to another member


class Group(msgspec.Struct, kw_only=True):
    group_id: str  # names the group by all its members: a new member gives a new id
    keeper_id: str
    keeper_reason: str
    reclaimable_bytes: int
    member_count: int
    members: list[Member]  # keeper first; at most 100 listed


class DuplicatePage(msgspec.Struct, kw_only=True):
    """Groups, most reclaimable space first (then most members, then keeper id).

    ``computing``: a newer answer is on its way (ask again). ``next_cursor`` pages exactly
    while groups come and go; ``next_offset`` shifts with them.
    """

    thresholds: Thresholds
    groups: list[Group]
    offset: int
    limit: int
    total_groups: int | None
    reclaimable_bytes: int | None
    next_offset: int | None
    next_cursor: str | None = None
    computing: bool
    stale: bool
    progress: float | None = None
    version: VersionInfo | None = None
    error: str | None = None
    dismissed_groups: int = 0  # groups of this answer left out because they were marked "not duplicates"


class DismissRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["exact", "near", "similar"]
    group_id: GroupId


class DismissedGroup(msgspec.Struct, kw_only=True):
    kind: str
    group_id: str
    dismissed: bool  # true: left out of the listings of this kind; false: shown again


__all__ = ["DismissRequest", "DismissedGroup", "DuplicatePage", "Group", "GroupId", "Member", "Thresholds"]
