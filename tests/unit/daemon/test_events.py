"""The event router on real files, a real index and a fake clock: settling, deletions, moves re-pointed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.unit.daemon.index_on_disk import open_pipeline, put_photo, stored_paths

from photoindex.daemon.events import EventRouter
from photoindex.daemon.phase import DaemonPhase
from photoindex.daemon.settle import CLOSE_QUIET_S, DELETE_DELAY_S, Settler
from photoindex.daemon.watcher import FsEvent
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.indexer.discovery import DiscoveryRules
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.summary import IndexSummary

pytestmark = pytest.mark.anyio

SETTLE_S = 1.0
WALL = 1_000_000.0  # the fake wall clock's "now"


class Clocks:
    def __init__(self) -> None:
        self.now = 0.0
        self.wall = WALL


async def writable() -> None:
    return None


def make_router(pipeline: IndexPipeline, clocks: Clocks, in_flight: set[str] | None = None) -> EventRouter:
    settler = Settler(settle_s=SETTLE_S, max_delay_s=10.0, max_pending=1000, wall_clock=lambda: clocks.wall)
    work = WorkTracker(pipeline, settler, IndexSummary(), DaemonPhase(), wait_writable=writable)
    work.in_flight |= in_flight or set()
    return EventRouter(pipeline, DiscoveryRules(), work=work, clock=lambda: clocks.now, wall_clock=lambda: clocks.wall)


def photo(path: Path, mtime: float) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"jpeg" * 25)
    os.utime(path, (mtime, mtime))
    return str(path)


@pytest.fixture
def pipeline(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_pipeline(tmp_path) as opened:
        yield opened


async def test_a_write_waits_for_the_settle_time(tmp_path: Path, pipeline: IndexPipeline) -> None:
    clocks = Clocks()
    router = make_router(pipeline, clocks)
    root = tmp_path / "lib"
    path = photo(root / "a.jpg", WALL)  # written just now
    await router.apply(FsEvent("written", path, str(root)))
    assert router.settler.pending(path)
    assert router.settler.take_due(SETTLE_S / 2).ready == []
    clocks.wall += SETTLE_S
    assert [f.path for f in router.settler.take_due(SETTLE_S).ready] == [path]


async def test_a_file_created_long_ago_arrives_complete(tmp_path: Path, pipeline: IndexPipeline) -> None:
    clocks = Clocks()
    router = make_router(pipeline, clocks)
    root = tmp_path / "lib"
    old = photo(root / "old.jpg", WALL - 10 * SETTLE_S)  # moved in from outside
    fresh = photo(root / "fresh.jpg", WALL)  # being written
    await router.apply(FsEvent("created", old, str(root)))
    await router.apply(FsEvent("created", fresh, str(root)))
    assert [f.path for f in router.settler.take_due(CLOSE_QUIET_S).ready] == [old]
    assert router.settler.pending(fresh)


async def test_paths_the_library_does_not_count_are_ignored(tmp_path: Path, pipeline: IndexPipeline) -> None:
    router = make_router(pipeline, Clocks())
    root = tmp_path / "lib"
    for path in (
        photo(root / ".hidden.jpg", WALL),
        photo(root / ".cache" / "b.jpg", WALL),
        photo(tmp_path / "elsewhere" / "c.jpg", WALL),
    ):
        await router.apply(FsEvent("closed", path, str(root)))
    assert len(router.settler) == 0
    assert router.applied == 3


async def test_a_deletion_of_a_known_file_is_confirmed_after_the_delay(tmp_path: Path, pipeline: IndexPipeline) -> None:
    clocks = Clocks()
    router = make_router(pipeline, clocks)
    root = tmp_path / "lib"
    known = put_photo(pipeline, root / "a.jpg", root)
    os.remove(known.path)
    await router.apply(FsEvent("deleted", known.path, str(root)))
    await router.apply(FsEvent("deleted", str(root / "never-known.jpg"), str(root)))
    assert router.settler.take_due(DELETE_DELAY_S / 2).gone == []
    assert router.settler.take_due(DELETE_DELAY_S).gone == [(known.path, str(root))]
    assert len(router.settler) == 0


async def test_a_renamed_file_is_repointed_without_any_work(tmp_path: Path, pipeline: IndexPipeline) -> None:
    router = make_router(pipeline, Clocks())
    root = tmp_path / "lib"
    known = put_photo(pipeline, root / "a.jpg", root)
    dest = root / "renamed" / "b.jpg"
    dest.parent.mkdir()
    os.rename(known.path, dest)
    await router.apply(FsEvent("moved", known.path, str(root), dest=str(dest)))
    assert len(router.settler) == 0
    assert set(pipeline.state.paths()) == {str(dest)}
    assert pipeline.state[str(dest)].point_id == known.point_id
    assert stored_paths(pipeline) == {str(dest)}


async def test_a_file_in_the_pipeline_is_not_repointed_but_looked_at_again(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    clocks = Clocks()
    root = tmp_path / "lib"
    known = put_photo(pipeline, root / "a.jpg", root)
    router = make_router(pipeline, clocks, in_flight={known.path})
    dest = str(root / "b.jpg")
    os.rename(known.path, dest)
    await router.apply(FsEvent("moved", known.path, str(root), dest=dest))
    assert router.settler.pending(known.path) and router.settler.pending(dest)
    assert set(pipeline.state.paths()) == {known.path}  # the store is not touched
    due = router.settler.take_due(DELETE_DELAY_S)
    assert due.gone == [(known.path, str(root))] and [f.path for f in due.ready] == [dest]


async def test_a_moved_folder_is_repointed_and_its_new_place_rescanned(tmp_path: Path, pipeline: IndexPipeline) -> None:
    clocks = Clocks()
    router = make_router(pipeline, clocks)
    root = tmp_path / "lib"
    known = [put_photo(pipeline, root / "trip" / f"{i}.jpg", root) for i in range(3)]
    os.rename(root / "trip", root / "2024-trip")
    await router.apply(FsEvent("dir_moved", str(root / "trip"), str(root), dest=str(root / "2024-trip")))
    moved = {str(root / "2024-trip" / f"{i}.jpg") for i in range(3)}
    assert set(pipeline.state.paths()) == moved == stored_paths(pipeline)
    assert {k.point_id for k in known} == {k.point_id for k in pipeline.state.files()}
    assert router.settler.take_due(SETTLE_S).rescans == [(str(root / "2024-trip"), str(root))]


async def test_a_folder_moved_out_of_the_root_is_rescanned_not_deleted(tmp_path: Path, pipeline: IndexPipeline) -> None:
    router = make_router(pipeline, Clocks())
    root = tmp_path / "lib"
    known = put_photo(pipeline, root / "trip" / "a.jpg", root)
    await router.apply(FsEvent("dir_moved", str(root / "trip"), str(root), dest=""))
    assert known.path in pipeline.state  # the rescan decides, once the delete delay is over
    assert router.settler.take_due(DELETE_DELAY_S).rescans == [(str(root / "trip"), str(root))]


async def test_a_deleted_folder_drops_its_pending_paths(tmp_path: Path, pipeline: IndexPipeline) -> None:
    router = make_router(pipeline, Clocks())
    root = tmp_path / "lib"
    pending = photo(root / "trip" / "a.jpg", WALL)
    await router.apply(FsEvent("written", pending, str(root)))
    await router.apply(FsEvent("dir_deleted", str(root / "trip"), str(root)))
    await router.apply(FsEvent("dir_deleted", str(root), str(root)))  # the root itself: the health check's
    assert not router.settler.pending(pending)
    assert router.settler.take_due(DELETE_DELAY_S).rescans == [(str(root / "trip"), str(root))]
