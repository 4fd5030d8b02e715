"""The timeline over a hand-built snapshot: a total order, exact cursors through long ties, folders, dates."""

from __future__ import annotations

import math
import uuid

import numpy as np

from photoindex.library.captions_index import CaptionIndex
from photoindex.library.snapshot import Snapshot
from photoindex.library.timeline import Timeline, TimelineQuery
from photoindex.library.version import LibraryVersion


def snapshot(rows: list[tuple[float, str, int]], ids: list[bytes] | None = None) -> Snapshot:
    """Rows of (taken_ts or NaN, folder, status); random ids unless given."""
    folders = sorted({folder for _, folder, _ in rows})
    n = len(rows)
    return Snapshot(
        version=LibraryVersion(n, n, 0),
        ids=np.frombuffer(b"".join(ids or [uuid.uuid4().bytes for _ in rows]), dtype="V16"),
        status=np.array([status for _, _, status in rows], dtype=np.uint8),
        size=np.zeros(n, dtype=np.int64),
        width=np.zeros(n, dtype=np.int32),
        height=np.zeros(n, dtype=np.int32),
        mtime_ns=np.zeros(n, dtype=np.int64),
        sha256=np.zeros(n, dtype="V32"),
        phash=np.zeros(n, dtype=np.uint64),
        has_phash=np.zeros(n, dtype=bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
        taken_ts=np.array([taken for taken, _, _ in rows], dtype=np.float64),
        dir_code=np.array([folders.index(folder) for _, folder, _ in rows], dtype=np.uint32),
        dir_names=tuple(folders),
    )


def every_page(timeline: Timeline, snap: Snapshot, query: TimelineQuery, limit: int) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = timeline.page(snap, query, after=after, limit=limit)
        ids.extend(page.ids)
        if not page.more:
            return ids
        after = page.last_key


def test_pages_follow_one_total_order_through_ties_and_unknown_dates() -> None:
    # Many photos share one second, and several have no date: the cursor must cross both exactly.
    rows = [(1000.0, "/p", 0)] * 7 + [(2000.0, "/p", 0)] * 3 + [(math.nan, "/p", 0)] * 5 + [(1500.0, "/p", 2)]
    snap = snapshot(rows)
    ids = snap.point_ids(range(len(rows)))
    timeline = Timeline()
    for order in ("desc", "asc"):
        listed = every_page(timeline, snap, TimelineQuery(order=order), limit=2)
        taken = {i: rows[r][0] for r, i in enumerate(ids)}
        sign = -1 if order == "desc" else 1
        expected = sorted(ids[:15], key=lambda i: (math.inf if math.isnan(taken[i]) else sign * taken[i], i))
        assert listed == expected  # the failed photo (status 2) is not listed
    assert timeline.page(snap, TimelineQuery(), after=None, limit=3).total == 15


def test_folder_means_below_it_and_dates_are_half_open() -> None:
    rows = [(100.0, "/a", 0), (200.0, "/a/b", 0), (300.0, "/ab", 0), (400.0, "/a", 0)]
    snap = snapshot(rows)
    ids = snap.point_ids(range(4))
    timeline = Timeline()
    below_a = timeline.page(snap, TimelineQuery(folder="/a/"), after=None, limit=10)
    assert below_a.ids == [ids[3], ids[1], ids[0]] and below_a.total == 3  # not /ab
    dated = timeline.page(snap, TimelineQuery(taken_from_ts=200.0, taken_to_ts=400.0), after=None, limit=10)
    assert dated.ids == [ids[2], ids[1]]


def test_a_removed_photo_moves_no_other_across_a_page_boundary() -> None:
    rows = [(float(t), "/p", 0) for t in (5, 4, 3, 2, 1)]
    before = snapshot(rows)
    ids = before.point_ids(range(5))
    timeline = Timeline()
    first = timeline.page(before, TimelineQuery(), after=None, limit=2)
    assert first.ids == ids[:2]
    # The newest photo is gone: the next snapshot holds the other four, and the next page starts after ids[1].
    after = snapshot(rows[1:], [uuid.UUID(i).bytes for i in ids[1:]])
    assert timeline.page(after, TimelineQuery(), after=first.last_key, limit=10).ids == ids[2:]
