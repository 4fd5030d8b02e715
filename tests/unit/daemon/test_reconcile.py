"""Reconcile scans on real folders and a real index, with a fake wall clock: new, changed, moved, deleted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.unit.daemon.index_on_disk import open_pipeline, put_photo, stored_paths

from photoindex.daemon.reconcile import Reconciler
from photoindex.indexer.discovery import DiscoveryRules
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import KnownFile
from photoindex.indexer.summary import IndexSummary

pytestmark = pytest.mark.anyio

WALL = 1_000_000.0
YOUNG_S = 2.0


class Scan:
    """A reconciler over ``pipeline`` that records what it hands on."""

    def __init__(self, pipeline: IndexPipeline, *, available: bool = True) -> None:
        self.submitted: list[str] = []
        self.young: list[str] = []
        self.available = available
        summary = IndexSummary()
        self.reconciler = Reconciler(
            pipeline,
            DiscoveryRules(),
            submit=self._submit,
            repoint=lambda moves: pipeline.repoint(moves, summary),
            too_young=lambda facts: self.young.append(facts.path),
            available=lambda root: self.available,
            summary=summary,
            wall_clock=lambda: WALL,
        )

    async def _submit(self, facts: FileFacts) -> None:
        self.submitted.append(facts.path)

    async def __call__(self, folder: Path, root: Path):  # type: ignore[no-untyped-def]
        return await self.reconciler.scan(str(folder), str(root), young_s=YOUNG_S)


def photo(path: Path, age_s: float = 60.0, data: bytes = b"jpeg" * 25) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (WALL - age_s, WALL - age_s))
    return str(path)


def indexed(pipeline: IndexPipeline, path: Path, root: Path | str) -> KnownFile:
    """A photo written a minute ago, in the index as indexed."""
    photo(path)
    return put_photo(pipeline, path, root)


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[IndexPipeline]:
    with open_pipeline(tmp_path) as opened:
        yield opened


async def test_new_files_go_to_the_pipeline_and_fresh_ones_to_the_settler(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    root = tmp_path / "lib"
    old, fresh = photo(root / "a" / "old.jpg"), photo(root / "fresh.jpg", age_s=YOUNG_S / 2)
    photo(root / ".hidden" / "x.jpg")
    scan = Scan(pipeline)
    result = await scan(root, root)
    assert scan.submitted == [old] and scan.young == [fresh]
    assert (result.files, result.changed, result.young, result.complete) == (2, 1, 1, True)
    assert result.folders == {str(root), str(root / "a")}


async def test_unchanged_files_cost_nothing_and_changed_ones_are_redone(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    root = tmp_path / "lib"
    indexed(pipeline, root / "same.jpg", root)
    indexed(pipeline, root / "edited.jpg", root)
    photo(root / "edited.jpg", data=b"edited" * 30)
    scan = Scan(pipeline)
    result = await scan(root, root)
    assert scan.submitted == [str(root / "edited.jpg")] and result.changed == 1


async def test_files_gone_after_a_complete_scan_are_removed(tmp_path: Path, pipeline: IndexPipeline) -> None:
    root = tmp_path / "lib"
    kept = indexed(pipeline, root / "kept.jpg", root)
    gone = indexed(pipeline, root / "gone.jpg", root)
    os.remove(gone.path)
    result = await Scan(pipeline)(root, root)
    assert result.deleted == 1
    assert set(pipeline.state.paths()) == {kept.path} == stored_paths(pipeline)


async def test_a_root_that_is_not_there_loses_nothing(tmp_path: Path, pipeline: IndexPipeline) -> None:
    root = tmp_path / "lib"
    known = indexed(pipeline, root / "a.jpg", root)
    os.remove(known.path)
    result = await Scan(pipeline, available=False)(root, root)
    assert not result.complete and result.deleted == 0
    assert known.path in pipeline.state


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
async def test_files_below_an_unreadable_folder_are_not_taken_for_deleted(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    root = tmp_path / "lib"
    hidden = indexed(pipeline, root / "locked" / "a.jpg", root)
    (root / "locked").chmod(0)
    try:
        result = await Scan(pipeline)(root, root)
    finally:
        (root / "locked").chmod(0o755)
    assert result.unreadable and result.deleted == 0 and hidden.path in pipeline.state


async def test_a_file_moved_while_nobody_watched_is_repointed(tmp_path: Path, pipeline: IndexPipeline) -> None:
    root = tmp_path / "lib"
    known = indexed(pipeline, root / "a.jpg", root)
    (root / "sorted").mkdir()
    os.rename(known.path, root / "sorted" / "a.jpg")
    scan = Scan(pipeline)
    result = await scan(root, root)
    assert (result.moved, result.deleted, scan.submitted) == (1, 0, [])
    moved = pipeline.state[str(root / "sorted" / "a.jpg")]
    assert moved.point_id == known.point_id and stored_paths(pipeline) == {moved.path}


async def test_a_second_link_to_a_known_file_is_indexed_as_a_copy(tmp_path: Path, pipeline: IndexPipeline) -> None:
    root = tmp_path / "lib"
    known = indexed(pipeline, root / "a.jpg", root)
    os.link(known.path, root / "b.jpg")  # same inode, size and mtime; the original is still there
    scan = Scan(pipeline)
    result = await scan(root, root)
    assert scan.submitted == [str(root / "b.jpg")] and result.moved == 0
    assert known.path in pipeline.state


async def test_a_known_file_under_no_root_is_adopted_without_reading_it(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    root = tmp_path / "lib"
    stray = indexed(pipeline, root / "a.jpg", "")  # kept when its folder was unwatched
    scan = Scan(pipeline)
    result = await scan(root, root)
    assert result.adopted == 1 and scan.submitted == []
    assert pipeline.state[stray.path].root == str(root)


async def test_a_folder_scan_looks_only_below_the_folder(tmp_path: Path, pipeline: IndexPipeline) -> None:
    root = tmp_path / "lib"
    outside = indexed(pipeline, root / "other" / "a.jpg", root)
    inside = indexed(pipeline, root / "trip" / "a.jpg", root)
    os.remove(outside.path)
    os.remove(inside.path)
    # Another size: the file system may hand b.jpg a freed inode, and the same inode,
    # size and mtime is what a move looks like.
    new = photo(root / "trip" / "b.jpg", data=b"another photo" * 10)
    scan = Scan(pipeline)
    result = await scan(root / "trip", root)
    assert scan.submitted == [new] and result.deleted == 1
    assert set(pipeline.state.paths()) == {outside.path}
