"""Similar-photo neighbour lists over a real embedded store: kept per photo, a new photo costs one search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoindex.indexer.store import EdgeStore, PhotoPoint, VectorStore, payload_from_dict, point_id
from photoindex.library.duplicates import similar_groups
from photoindex.library.duplicates.grouping import DuplicateGroup
from photoindex.library.duplicates.similar_live import LiveSimilarLinks
from photoindex.library.snapshot import Snapshot, take_snapshot
from photoindex.library.version import LibraryVersion

HOST = "host-sim"
DIM = 8
CLUSTERS = 5  # one-hot centres: photos of different clusters are far apart, of one cluster close


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    opened = EdgeStore.open(tmp_path / "store", "similar-test", DIM)
    yield opened
    opened.close()


def _point(i: int, cluster: int, rng: np.random.Generator) -> PhotoPoint:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[cluster] = 1.0
    vector += rng.normal(0, 0.03, DIM).astype(np.float32)
    payload = payload_from_dict(
        {"path": f"/lib/{i}.jpg", "host_id": HOST, "status": "indexed", "size": 100 + i, "sha256": f"{i + 1:064x}"}
    )
    return PhotoPoint(point_id(HOST, f"/lib/{i}.jpg"), payload, vector / np.linalg.norm(vector))


def _members(snapshot: Snapshot, groups: list[DuplicateGroup]) -> list[tuple[str, frozenset[str]]]:
    """Each group as (keeper, members), by point id; scores are compared apart, with a tolerance."""
    return sorted((snapshot.point_id(g.rows[0]), frozenset(snapshot.point_ids(g.rows))) for g in groups)


def _check(store: VectorStore, links: LiveSimilarLinks) -> None:
    snapshot = links.snapshot
    full = similar_groups(store, snapshot, min_score=0.9)
    kept = links.groups(min_score=0.9, include_exact=False)
    assert _members(snapshot, kept) == _members(snapshot, full)
    by_keeper = {g.rows[0]: g for g in full}
    for group in kept:
        assert group.closeness == pytest.approx(by_keeper[group.rows[0]].closeness, abs=1e-4)


def test_links_follow_adds_and_removes_with_one_search_per_new_photo(store: VectorStore) -> None:
    rng = np.random.default_rng(5)
    store.upsert([_point(i, i % CLUSTERS, rng) for i in range(20)])
    links = LiveSimilarLinks(take_snapshot(store, LibraryVersion(20, 20, 0)))
    assert links.todo.size == 20
    links.search(store)
    assert links.todo.size == 0
    _check(store, links)

    store.upsert([_point(20, 0, rng)])
    links.move_to(take_snapshot(store, LibraryVersion(21, 21, 0)))
    assert links.todo.size == 1  # only the new photo is searched
    links.search(store)
    _check(store, links)

    store.delete([point_id(HOST, "/lib/0.jpg"), point_id(HOST, "/lib/6.jpg")])
    links.move_to(take_snapshot(store, LibraryVersion(19, 19, 0)))
    assert links.todo.size == 0  # a removal searches nothing
    _check(store, links)


def test_a_stopped_pass_keeps_its_links_and_the_next_searches_the_rest(store: VectorStore) -> None:
    rng = np.random.default_rng(6)
    store.upsert([_point(i, i % CLUSTERS, rng) for i in range(600)])
    links = LiveSimilarLinks(take_snapshot(store, LibraryVersion(600, 600, 0)))
    pages: list[float] = []
    with pytest.raises(InterruptedError):
        links.search(store, progress=pages.append, stop=lambda: len(pages) >= 1)
    assert 0 < links.todo.size < 600
    links.search(store)
    assert links.todo.size == 0
    groups = links.groups(min_score=0.9, include_exact=False)
    assert sorted(len(g.rows) for g in groups) == [120] * CLUSTERS
