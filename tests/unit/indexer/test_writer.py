"""The IndexWriter over the real embedded store: what it writes, the state it keeps, the changes it tells."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.changes import IndexChange
from photoindex.indexer.moves import repoint
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import UNWATCHED_ROOT, IndexState, KnownFile
from photoindex.indexer.store import EdgeStore, PhotoPoint, VectorStore, payload_from_dict, point_id
from photoindex.indexer.summary import IndexSummary
from photoindex.indexer.writer import IndexWriter

HOST = "host-w"
DIM = 8
ROOT = "/lib"

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    opened = EdgeStore.open(tmp_path / "store", "writer-test", DIM)
    yield opened
    opened.close()


def _known(path: str, *, root: str = ROOT, inode: int = 1) -> KnownFile:
    return KnownFile(
        point_id=point_id(HOST, path),
        path=path,
        root=root,
        size=10,
        mtime_ns=1,
        inode=inode,
        status="indexed",
        sha256=None,
        caption_status="pending",
    )


def _point(known: KnownFile) -> PhotoPoint:
    payload = {"path": known.path, "root": known.root, "host_id": HOST, "status": "indexed", "size": 10}
    vector = np.random.default_rng(known.inode).standard_normal(DIM).astype(np.float32)
    return PhotoPoint(known.point_id, payload_from_dict(payload), vector)


def _listening(writer: IndexWriter) -> list[IndexChange]:
    heard: list[IndexChange] = []
    writer.subscribe(heard.append)
    return heard


async def _write(writer: IndexWriter, *files: KnownFile) -> IndexChange:
    return await writer.write(upsert=[_point(k) for k in files], remember=files)


async def test_an_upsert_tells_added_then_changed_and_the_state_follows(store: VectorStore) -> None:
    writer = IndexWriter(store, IndexState(HOST))
    heard = _listening(writer)
    a, b = _known("/lib/a.jpg", inode=1), _known("/lib/b.jpg", inode=2)
    await _write(writer, a, b)
    assert heard == [IndexChange(added=(a.point_id, b.point_id))]
    assert set(writer.state.paths()) == {a.path, b.path}
    await _write(writer, a)
    assert heard[-1] == IndexChange(changed=(a.point_id,))
    assert store.count() == 2


async def test_a_move_keeps_the_id_and_tells_a_change(store: VectorStore) -> None:
    writer = IndexWriter(store, IndexState(HOST))
    a, b = _known("/lib/a.jpg", inode=1), _known("/lib/b.jpg", inode=2)
    await _write(writer, a, b)
    heard = _listening(writer)
    moved = FileFacts(path="/lib/sub/a.jpg", root=ROOT, size=10, mtime_ns=1, inode=1)
    over_b = FileFacts(path="/lib/b.jpg", root=ROOT, size=10, mtime_ns=1, inode=3)
    missed = await repoint(
        writer, [(a.path, moved), ("/lib/unknown.jpg", moved)], IndexSummary(), host_id=HOST, geo=None
    )
    assert missed == ["/lib/unknown.jpg"]
    assert heard == [IndexChange(changed=(a.point_id,))]
    assert writer.state[moved.path].point_id == a.point_id and a.path not in writer.state
    assert store.retrieve([a.point_id])[0].payload.path == moved.path
    # Moved over another indexed file: that file's point goes.
    await repoint(writer, [(moved.path, over_b)], IndexSummary(), host_id=HOST, geo=None)
    assert heard[-1] == IndexChange(changed=(a.point_id,), removed=(b.point_id,))
    assert writer.state[b.path].point_id == a.point_id
    assert [p.id for p in store.scroll()] == [a.point_id]


async def test_removals_tell_the_removed_ids_and_forget_the_files(store: VectorStore) -> None:
    writer = IndexWriter(store, IndexState(HOST))
    files = [_known(f"/lib/{i}.jpg", inode=i) for i in range(5)]
    await _write(writer, *files)
    heard = _listening(writer)
    assert await writer.remove_known(files[:2]) == 2
    assert heard == [IndexChange(removed=(files[0].point_id, files[1].point_id))]
    assert await writer.remove_ids([files[2].point_id, "00000000-0000-0000-0000-000000000001"]) == 2
    assert heard[-1].removed[0] == files[2].point_id
    assert set(writer.state.paths()) == {files[3].path, files[4].path}
    assert store.count() == 2


async def test_a_root_is_removed_even_where_the_state_was_never_loaded(store: VectorStore) -> None:
    loaded = IndexWriter(store, IndexState(HOST))
    kept = _known("/elsewhere/k.jpg", root="/elsewhere", inode=9)
    await _write(loaded, _known("/lib/a.jpg", inode=1), _known("/lib/b.jpg", inode=2), kept)
    api_writer = IndexWriter(store, IndexState(HOST))  # the API's own: nothing loaded
    heard = _listening(api_writer)
    assert await api_writer.remove_root(ROOT) == 2
    assert sorted(heard[0].removed) == sorted([point_id(HOST, "/lib/a.jpg"), point_id(HOST, "/lib/b.jpg")])
    assert [p.id for p in store.scroll()] == [kept.point_id]


async def test_payload_updates_tell_their_fields_and_keep_mirrored_fields_in_the_state(store: VectorStore) -> None:
    writer = IndexWriter(store, IndexState(HOST))
    a, b = _known("/lib/a.jpg", inode=1), _known("/lib/b.jpg", inode=2)
    await _write(writer, a, b)
    heard = _listening(writer)
    await writer.remove_ids([b.point_id])
    done = await writer.set_payload([(a.point_id, {"caption": "a cat", "caption_status": "done"}), (b.point_id, {})])
    assert done == [a.point_id]  # b left the index meanwhile: passed over
    assert heard[-1] == IndexChange(changed=(a.point_id,), fields=("caption", "caption_status"))
    assert writer.state[a.path].caption_status == "done"
    assert await writer.unwatch_root(ROOT) == 1
    assert writer.state[a.path].root == UNWATCHED_ROOT
    assert store.retrieve([a.point_id])[0].payload.root == UNWATCHED_ROOT
    assert await writer.set_roots([(writer.state[a.path], ROOT)]) == 1
    assert await writer.mark_available(ROOT, False) == 1
    assert heard[-1].fields == ("available",)
    assert store.retrieve([a.point_id])[0].payload.available is False


async def test_a_failing_subscriber_is_logged_and_the_others_still_hear(store: VectorStore) -> None:
    writer = IndexWriter(store, IndexState(HOST))

    def broken(_change: IndexChange) -> None:
        raise RuntimeError("boom")

    writer.subscribe(broken)
    heard = _listening(writer)
    unsubscribe = writer.subscribe(heard.append)
    unsubscribe()
    await _write(writer, _known("/lib/a.jpg"))
    assert len(heard) == 1 and store.count() == 1


class _Recording:
    """The real store, noting whether the writer's limiter was held at each write."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self.limiter: anyio.CapacityLimiter | None = None
        self.held: list[tuple[str, int]] = []
        self.refuse = 0  # refuse this many writes as if the disk were full

    def _note(self, call: str) -> None:
        assert self.limiter is not None
        self.held.append((call, self.limiter.borrowed_tokens))
        if self.refuse:
            self.refuse -= 1
            raise StoreError("disk full", code=ErrorCode.DISK_FULL)

    def upsert(self, points: Sequence[PhotoPoint]) -> None:
        self._note("upsert")
        self.store.upsert(points)

    def delete(self, ids: Sequence[str]) -> None:
        self._note("delete")
        self.store.delete(ids)

    def set_payload(self, pid: str, payload: Mapping[str, Any]) -> None:
        self._note("set_payload")
        self.store.set_payload(pid, payload)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_every_write_runs_under_the_one_limiter_and_a_full_disk_holds_the_write(store: VectorStore) -> None:
    recording = _Recording(store)
    writer = IndexWriter(recording, IndexState(HOST))  # type: ignore[arg-type]
    recording.limiter = writer.limiter
    assert writer.limiter.total_tokens == 1
    waited: list[bool] = []

    async def wait_writable() -> None:
        waited.append(True)

    writer.wait_writable = wait_writable
    a = _known("/lib/a.jpg")
    recording.refuse = 1
    await writer.write(upsert=[_point(a)], remember=[a], hold_when_full=True)
    assert waited == [True] and store.count() == 1
    await writer.set_payload([(a.point_id, {"caption": "x"})])
    await writer.remove_known([a])
    assert [call for call, _held in recording.held] == ["upsert", "upsert", "set_payload", "delete"]
    assert all(held == 1 for _call, held in recording.held)
    recording.refuse = 1
    with pytest.raises(StoreError):  # not held: the caller hears of it
        await writer.write(upsert=[_point(a)], remember=[a])
    assert a.path not in writer.state


async def test_load_state_reads_this_hosts_points(store: VectorStore) -> None:
    await _write(IndexWriter(store, IndexState(HOST)), _known("/lib/a.jpg"))
    writer = IndexWriter(store, IndexState(HOST))
    assert len(writer.state) == 0
    state = await writer.load_state()
    assert state is writer.state and set(state.paths()) == {"/lib/a.jpg"}
