"""Work in hand on a real index and a fake clock: one trip through the pipeline per path, scans, deletions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from tests.unit.daemon.index_on_disk import facts_of, open_pipeline, put_photo, stored_paths

from photoindex.daemon.phase import DaemonPhase
from photoindex.daemon.settle import CLOSE_QUIET_S, Settler
from photoindex.daemon.status import DaemonState
from photoindex.daemon.work_tracker import WorkTracker
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import FileFacts
from photoindex.indexer.summary import IndexSummary

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def writable() -> None:
    return None


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[IndexPipeline]:
    with open_pipeline(tmp_path) as opened:
        yield opened


def tracker(pipeline: IndexPipeline, clock: Clock) -> WorkTracker:
    settler = Settler(settle_s=1.0, max_delay_s=10.0, max_pending=1000)
    return WorkTracker(
        pipeline, settler, IndexSummary(), DaemonPhase(), wait_writable=writable, queue_size=8, clock=clock
    )


async def test_a_path_is_in_the_pipeline_once_and_looked_at_again_after(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    clock = Clock()
    work = tracker(pipeline, clock)
    queue = work.queue()
    path = tmp_path / "lib" / "a.jpg"
    path.parent.mkdir()
    path.write_bytes(b"x" * 10)
    facts = facts_of(path, tmp_path / "lib")
    await work.submit(facts)
    await work.submit(facts)  # changed again while in flight
    assert queue.receive_nowait() == facts and work.in_flight == {str(path)} and work.queued == 2
    clock.now = 5.0
    work.file_done(str(path))
    assert work.in_flight == set() and work.settler.pending(str(path))
    assert [f.path for f in work.settler.take_due(5.0 + CLOSE_QUIET_S).ready] == [str(path)]
    assert not work.busy()


async def test_scan_requests_collapse_into_the_enclosing_folder(pipeline: IndexPipeline) -> None:
    work = tracker(pipeline, Clock())
    work.request_scan("/lib/a/b", "/lib")
    work.request_scan("/lib/a", "/lib")
    work.request_scan("/lib/a/c", "/lib")  # inside one already waiting
    work.request_scan("/other", "/other")
    assert work.scan_requests == {"/lib/a": "/lib", "/other": "/other"} and work.root_scans_waiting()
    work.drop_scans("/other")
    assert work.scan_requests == {"/lib/a": "/lib"} and not work.root_scans_waiting()
    assert work.start_scan() == ("/lib/a", "/lib") and work.scanning and work.busy()
    assert work.start_scan() is None
    work.scan_ended()
    assert not work.busy()


async def test_settled_deletions_are_removed_unless_in_flight_or_on_an_absent_root(
    tmp_path: Path, pipeline: IndexPipeline
) -> None:
    lib, away = tmp_path / "lib", tmp_path / "away"
    gone = put_photo(pipeline, lib / "gone.jpg", lib)
    flying = put_photo(pipeline, lib / "flying.jpg", lib)
    absent = put_photo(pipeline, away / "a.jpg", away)
    for known in (gone, flying, absent):
        os.remove(known.path)
    work = tracker(pipeline, Clock())
    work.in_flight.add(flying.path)
    batch = [(k.path, k.root) for k in (gone, flying, absent)] + [(str(lib / "never.jpg"), str(lib))]
    await work.confirm_gone(batch, available=lambda root: root == str(lib))
    assert set(pipeline.state.paths()) == {flying.path, absent.path} == stored_paths(pipeline)
    work.file_done(flying.path)  # the pipeline is done with it: it is looked at again, and found gone
    assert work.settler.take_due(CLOSE_QUIET_S).gone == [(flying.path, str(lib))]


async def test_moves_are_repointed_unless_a_path_is_in_the_pipeline(tmp_path: Path, pipeline: IndexPipeline) -> None:
    lib = tmp_path / "lib"
    calm, flying = put_photo(pipeline, lib / "calm.jpg", lib), put_photo(pipeline, lib / "flying.jpg", lib)
    os.rename(calm.path, lib / "calm-2.jpg")
    os.rename(flying.path, lib / "flying-2.jpg")
    work = tracker(pipeline, Clock())
    work.in_flight.add(str(lib / "flying-2.jpg"))  # the new path is being indexed already
    moves = [(calm.path, facts_of(lib / "calm-2.jpg", lib)), (flying.path, facts_of(lib / "flying-2.jpg", lib))]
    assert await work.repoint(moves) == [flying.path]
    assert pipeline.state[str(lib / "calm-2.jpg")].point_id == calm.point_id
    assert flying.path in pipeline.state  # untouched: the caller takes it for a deletion and a new file


async def test_a_file_handed_on_while_its_move_is_written_is_looked_at_after(
    tmp_path: Path, pipeline: IndexPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = tmp_path / "lib"
    known = put_photo(pipeline, lib / "a.jpg", lib)
    os.rename(known.path, lib / "b.jpg")
    dest = facts_of(lib / "b.jpg", lib)
    work = tracker(pipeline, Clock())
    queue = work.queue()
    write_moves = pipeline.repoint

    async def settled_meanwhile(moves: list[tuple[str, FileFacts]], summary: IndexSummary) -> list[str]:
        await work.submit(dest)  # the settler hands on the new path while the move is written
        assert work.busy() and work.holds(dest.path)
        return await write_moves(moves, summary)

    monkeypatch.setattr(pipeline, "repoint", settled_meanwhile)
    assert await work.repoint([(known.path, dest)]) == []
    assert pipeline.state[dest.path].point_id == known.point_id
    with pytest.raises(anyio.WouldBlock):
        queue.receive_nowait()  # not indexed alongside the move
    assert work.settler.pending(dest.path) and not work.holds(dest.path)


async def test_the_daemon_state_moves_with_the_work(tmp_path: Path, pipeline: IndexPipeline) -> None:
    work = tracker(pipeline, Clock())
    queue = work.queue()
    work.phase.ready()
    work.request_scan("/lib", "/lib")
    assert work.start_scan() == ("/lib", "/lib")
    work.scan_ended()
    work.phase.root_scans_done()
    work.changed()
    assert work.phase.state == DaemonState.IDLE
    path = tmp_path / "a.jpg"
    path.write_bytes(b"x")
    await work.submit(facts_of(path, tmp_path))
    assert work.phase.state == DaemonState.INDEXING
    queue.receive_nowait()
    work.file_done(str(path))
    assert work.phase.state == DaemonState.IDLE
    work.request_scan("/lib", "/lib")
    assert work.phase.state == DaemonState.INDEXING
    work.start_scan()
    work.pipeline_failed()
    assert work.phase.state == DaemonState.INDEXING  # the scan still runs


async def test_idle_seconds_count_from_the_last_work(pipeline: IndexPipeline) -> None:
    clock = Clock()
    work = tracker(pipeline, clock)
    clock.now = 10.0
    work.request_scan("/lib", "/lib")
    assert work.idle_seconds() == 0.0
    work.start_scan()
    clock.now = 12.0
    work.scan_ended()
    clock.now = 20.0
    assert work.idle_seconds() == 8.0
