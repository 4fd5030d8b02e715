"""The library's snapshot hears of the index writer's changes, even those no version count shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoindex.indexer.state import IndexState
from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, VectorStore, payload_from_dict, point_id
from photoindex.indexer.writer import IndexWriter
from photoindex.library import Catalog, Jobs

pytestmark = pytest.mark.anyio

HOST = "host-c"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    opened = EdgeStore.open(tmp_path / "store", "catalog-test", 4)
    yield opened
    opened.close()


async def test_a_caption_written_through_the_writer_reaches_the_snapshot(store: VectorStore) -> None:
    pid = point_id(HOST, "/lib/a.jpg")
    payload = {"path": "/lib/a.jpg", "host_id": HOST, "status": "indexed", "caption_status": "pending"}
    store.upsert([PhotoPoint(pid, payload_from_dict(payload), np.ones(4, dtype=np.float32))])
    catalog = Catalog(store, Jobs(), version_check_s=0.0, changed_refresh_s=0.0)
    writer = IndexWriter(store, IndexState(HOST))
    writer.subscribe(catalog.changed)
    first, fresh = await catalog.snapshot(wait_s=10.0)
    assert first is not None and fresh and not first.captions.match("cat", rows=len(first), limit=5)
    # The caption alone moves none of the counts a version is made of: only the writer's word tells of it.
    await writer.set_payload([(pid, {"caption": "a cat on a mat"})])
    second, fresh = await catalog.snapshot(wait_s=10.0)
    assert second is not first and fresh
    assert second is not None and second.captions.match("cat", rows=len(second), limit=5)
    third, _fresh = await catalog.snapshot(wait_s=10.0)
    assert third is second  # nothing changed since: no re-read


async def test_changes_the_writer_reports_update_the_snapshot_without_a_full_read(
    store: VectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [point_id(HOST, f"/lib/{i}.jpg") for i in range(4)]
    store.upsert(
        [
            PhotoPoint(pid, PhotoPayload(path=f"/lib/{i}.jpg", host_id=HOST, status="indexed"), None)
            for i, pid in enumerate(ids)
        ]
    )
    catalog = Catalog(store, Jobs(), version_check_s=0.0, changed_refresh_s=0.0)
    writer = IndexWriter(store, IndexState(HOST))
    writer.subscribe(catalog.changed)
    first, _fresh = await catalog.snapshot(wait_s=10.0)
    assert first is not None and len(first) == 4

    def no_full_read(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the whole store was read")

    monkeypatch.setattr("photoindex.library.catalog.take_snapshot", no_full_read)
    await writer.remove_ids(ids[:2])
    catalog.invalidate()  # as the API does after a removal
    second, fresh = await catalog.snapshot(wait_s=10.0)
    assert fresh and second is not None and sorted(second.point_ids(range(len(second)))) == sorted(ids[2:])
