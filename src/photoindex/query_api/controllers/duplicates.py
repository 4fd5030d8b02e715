"""Duplicate groups: exact copies, near copies (perceptual hash), similar shots (embeddings)."""

from __future__ import annotations

import bisect
from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from photoindex.errors import ErrorCode
from photoindex.indexer.store import PhotoPayload
from photoindex.library import (
    DEFAULT_DISTANCE,
    DEFAULT_MIN_SCORE,
    MAX_DISTANCE,
    DuplicateAnswer,
    DuplicateParams,
    Rejected,
)
from photoindex.library.duplicates.dismissed import KEY_PATTERN
from photoindex.library.duplicates.grouping import DuplicateGroup
from photoindex.library.duplicates.service import group_key
from photoindex.library.paging import decode_cursor, encode_cursor, fingerprint
from photoindex.library.snapshot import Snapshot
from photoindex.query_api import limits
from photoindex.query_api.params import CursorParam, Offset
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.common import VersionInfo
from photoindex.query_api.schemas.duplicates import (
    DismissedGroup,
    DismissRequest,
    DuplicatePage,
    Group,
    Member,
    Thresholds,
)
from photoindex.query_api.services import ApiServices

_NO_PAYLOAD = PhotoPayload()  # a photo removed since the snapshot: shown without its path

GroupLimit = Annotated[int, QueryParameter(ge=1, le=limits.MAX_DUPLICATE_LIMIT, description="groups per page")]


class DuplicatesController(Controller):
    path = "/duplicates"
    tags = ("duplicates",)

    @get("/", responses=problem_docs(400, 401), summary="Groups of duplicate photos, with a suggested keeper")
    async def duplicates(
        self,
        services: NamedDependency[ApiServices],
        kind: Annotated[Literal["exact", "near", "similar"], QueryParameter()] = "exact",
        max_distance: Annotated[
            int, QueryParameter(ge=0, le=MAX_DISTANCE, description="near: bits")
        ] = DEFAULT_DISTANCE,
        min_score: Annotated[float, QueryParameter(ge=0.5, le=1.0, description="similar: cosine")] = DEFAULT_MIN_SCORE,
        include_exact: Annotated[bool, QueryParameter()] = False,
        limit: GroupLimit = 20,
        offset: Offset = 0,
        cursor: CursorParam = None,
        wait_s: Annotated[float, QueryParameter(ge=0.0, le=limits.MAX_DUPLICATE_WAIT_S)] = 2.0,
    ) -> DuplicatePage:
        """Computed in the background per library version; waits at most ``wait_s`` for a fresh answer,
        then returns what it has with ``computing``/``stale`` set (ask again).

        Groups come most reclaimable space first, then most members, then by keeper id; the
        ``next_cursor`` continues after the last group served, even when the groups were recomputed."""
        params = DuplicateParams(kind, max_distance, min_score, include_exact)
        if cursor is not None and offset:
            raise Rejected("give a cursor or an offset, not both", reason="invalid")
        answer = await services.duplicates.find(params, wait_s=wait_s)
        return await _page(services, params, answer, limit, offset, cursor)

    @post(
        "/dismissed",
        status_code=201,
        responses=problem_docs(400, 401, 403, 404),
        summary='Mark a group "not duplicates": left out of the listings of its kind',
    )
    async def dismiss(self, services: NamedDependency[ApiServices], data: JSONBody[DismissRequest]) -> DismissedGroup:
        """``group_id`` is a group of the current listing of ``kind``. The mark is kept in the state dir
        across restarts; when the group later gains or loses a member, its id changes and it shows again."""
        known = services.duplicates.knows(data.kind, data.group_id)
        if known is None:  # nothing of this kind computed since the start: compute the default answer
            await services.duplicates.find(DuplicateParams(data.kind), wait_s=limits.MAX_DUPLICATE_WAIT_S)
            known = services.duplicates.knows(data.kind, data.group_id)
        if not known and data.group_id not in services.dismissed.of(data.kind):
            raise Rejected(
                f"no {data.kind} duplicate group {data.group_id} (list the duplicates again)",
                reason="invalid",
                code=ErrorCode.NOT_FOUND,
            )
        await services.in_store(lambda: services.dismissed.dismiss(data.kind, data.group_id))
        return DismissedGroup(kind=data.kind, group_id=data.group_id, dismissed=True)

    @delete(
        "/dismissed",
        status_code=200,
        responses=problem_docs(400, 401, 403, 404),
        summary="Undo a dismissal: the group is listed again",
    )
    async def restore(
        self,
        services: NamedDependency[ApiServices],
        kind: Annotated[Literal["exact", "near", "similar"], QueryParameter()],
        group_id: Annotated[str, QueryParameter(pattern=KEY_PATTERN, description="the group_id of a dismissed group")],
    ) -> DismissedGroup:
        """Refused with ``ERR_NOT_FOUND`` when that group was not dismissed."""
        if not await services.in_store(lambda: services.dismissed.restore(kind, group_id)):
            raise Rejected(
                f"{kind} duplicate group {group_id} was not dismissed", reason="invalid", code=ErrorCode.NOT_FOUND
            )
        return DismissedGroup(kind=kind, group_id=group_id, dismissed=False)


def _start(
    groups: list[DuplicateGroup], snapshot: Snapshot, params: DuplicateParams, offset: int, cursor: str | None
) -> int:
    """The index of the first group to serve: after the cursor's group, else ``offset``."""
    if cursor is None:
        return offset
    after = decode_cursor(cursor, fingerprint("duplicates", params.key), shape=(int, int, str)).key
    return bisect.bisect_right(groups, after, key=lambda g: group_key(snapshot, g))


async def _page(
    services: ApiServices,
    params: DuplicateParams,
    answer: DuplicateAnswer,
    limit: int,
    offset: int,
    cursor: str | None = None,
) -> DuplicatePage:
    thresholds = Thresholds(
        kind=params.kind,
        max_distance=params.max_distance if params.kind == "near" else None,
        min_score=params.min_score if params.kind == "similar" else None,
        include_exact=params.include_exact,
    )
    result = answer.result
    if result is None:
        return DuplicatePage(
            thresholds=thresholds,
            groups=[],
            offset=offset,
            limit=limit,
            total_groups=None,
            reclaimable_bytes=None,
            next_offset=None,
            computing=answer.computing,
            stale=True,
            progress=answer.progress,
            error=answer.error,
        )
    snapshot = result.snapshot
    hidden = services.dismissed.of(params.kind)
    listed = [(g, k) for g, k in zip(result.groups, result.member_keys, strict=True) if k not in hidden]
    all_groups = [g for g, _ in listed]
    offset = _start(all_groups, snapshot, params, offset, cursor)
    chosen_keys = listed[offset : offset + limit]
    chosen = [g for g, _ in chosen_keys]
    rows = [r for g in chosen for r in g.rows[: limits.MAX_MEMBERS_SHOWN]]
    ids = snapshot.point_ids(rows)
    points = await services.in_store(lambda: services.store.retrieve(ids))
    payloads = {p.id: p.payload for p in points}
    groups = []
    for group, key in chosen_keys:
        members = []
        for position, (row, closeness) in enumerate(zip(group.rows, group.closeness, strict=True)):
            if position >= limits.MAX_MEMBERS_SHOWN:
                break
            point_id = snapshot.point_id(row)
            payload = payloads.get(point_id, _NO_PAYLOAD)
            members.append(
                Member(
                    id=point_id,
                    path=payload.path,
                    size=int(snapshot.size[row]),
                    width=int(snapshot.width[row]),
                    height=int(snapshot.height[row]),
                    format=payload.format,
                    sha256=payload.sha256,
                    keeper=position == 0,
                    distance=int(closeness) if params.kind == "near" else None,
                    similarity=closeness if params.kind == "similar" else None,
                )
            )
        groups.append(
            Group(
                group_id=key,
                keeper_id=members[0].id,
                keeper_reason=group.keeper_reason,
                reclaimable_bytes=group.reclaimable_bytes,
                member_count=len(group.rows),
                members=members,
            )
        )
    total = len(all_groups)
    version = snapshot.version
    return DuplicatePage(
        thresholds=thresholds,
        groups=groups,
        offset=offset,
        limit=limit,
        total_groups=total,
        reclaimable_bytes=sum(g.reclaimable_bytes for g in all_groups),
        next_offset=offset + limit if offset + limit < total else None,
        next_cursor=(
            encode_cursor(fingerprint("duplicates", params.key), offset + limit, group_key(snapshot, chosen[-1]))
            if chosen and offset + limit < total
            else None
        ),
        computing=answer.computing,
        stale=answer.stale,
        progress=answer.progress,
        version=VersionInfo(
            key=version.key, photos=version.photos, indexed=version.indexed, last_indexed_at=snapshot.last_indexed_at
        ),
        error=answer.error,
        dismissed_groups=len(result.groups) - total,
    )


__all__ = ["DuplicatesController"]
