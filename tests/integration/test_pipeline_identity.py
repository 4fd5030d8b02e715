"""Point ids and hosts: a photo keeps its id across renames and moves; hosts sharing a collection stay apart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import PhotoFilter, VectorStore, point_id
from photoindex.indexer.summary import IndexSummary
from photoindex.library import Catalog, DuplicateFinder, DuplicateParams, Jobs
from tests.integration.conftest import HOST, TINY_DIM, make_photo, make_pipeline, working_models

pytestmark = pytest.mark.anyio


async def scan(pipeline: IndexPipeline, root: Path) -> IndexSummary:
    """A complete scan of one root, as ``photoindex index`` does it."""
    canonical = canonical_root(str(root))
    files = list(iter_files([canonical], DiscoveryRules()))
    summary = await pipeline.run(files)
    await pipeline.remove_missing(canonical, {f.path for f in files}, summary)
    return summary


def ids_by_sha(store: VectorStore, host: str = HOST) -> dict[str, str]:
    return {p.payload.sha256: p.id for p in store.scroll(flt=PhotoFilter(host_ids=(host,)))}


def ids_by_path(store: VectorStore) -> dict[str, str]:
    return {p.payload.path: p.id for p in store.scroll()}


async def test_renames_and_moves_keep_the_photo_id(store: VectorStore, decoder: DecodePool, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(4):
        make_photo(lib / ("sub" if i % 2 else "") / f"p{i}.jpg", seed=i)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    first = ids_by_path(store)
    # A store written before ids outlived renames holds exactly these ids: it keeps working as it is.
    assert all(pid == point_id(HOST, path) for path, pid in first.items())
    before = ids_by_sha(store)

    (lib / "p0.jpg").rename(lib / "renamed.jpg")
    shutil.move(lib / "sub", lib / "moved")
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert (summary.moved, summary.embedded_images) == (3, 0)
    assert ids_by_sha(store) == before
    assert store.count() == 4

    # Re-indexing from a fresh state (a restart) is idempotent: found by path, nothing new.
    again = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert again.unchanged == 4 and ids_by_sha(store) == before and store.count() == 4


async def test_a_new_file_where_a_moved_photo_was_gets_its_own_id(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=1)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    (original_id,) = ids_by_path(store).values()

    (lib / "a.jpg").rename(lib / "b.jpg")
    make_photo(lib / "a.jpg", seed=2)  # new content where the moved photo came from
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    ids = ids_by_path(store)
    assert ids[str((lib / "b.jpg").resolve())] == original_id
    assert ids[str((lib / "a.jpg").resolve())] not in (original_id, point_id(HOST, str((lib / "a.jpg").resolve())))
    assert store.count() == 2

    # A restart derives the same id for it again, so nothing is duplicated or moved.
    again = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert again.unchanged == 2 and ids_by_path(store) == ids


async def test_a_file_moved_over_another_takes_its_place_once(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=1)
    make_photo(lib / "b.jpg", seed=2)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    a_id = ids_by_path(store)[str((lib / "a.jpg").resolve())]
    (lib / "a.jpg").replace(lib / "b.jpg")
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert summary.moved == 1
    assert ids_by_path(store) == {str((lib / "b.jpg").resolve()): a_id}


@pytest.fixture
def server_store() -> Iterator[VectorStore]:
    """One Qdrant collection (qdrant-client's in-process mode) that two hosts index into."""
    from qdrant_client import QdrantClient

    from photoindex.indexer.store.server import ServerStore

    store = ServerStore(QdrantClient(location=":memory:"), "photoindex_shared", TINY_DIM)
    yield store
    store.close()


async def test_two_hosts_sharing_a_server_collection_keep_their_own_photos(
    server_store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"  # the same folder path on both machines, as ~/Pictures would be
    photos = [make_photo(lib / f"p{i}.jpg", seed=i) for i in range(3)]
    await scan(make_pipeline(server_store, decoder, working_models(), tmp_path, host="host-a"), lib)
    await scan(make_pipeline(server_store, decoder, working_models(), tmp_path, host="host-b"), lib)
    # Each host indexed its own copy: the other host's points are neither "unchanged" files nor its own.
    assert server_store.count(PhotoFilter(host_ids=("host-a",))) == 3
    assert server_store.count(PhotoFilter(host_ids=("host-b",))) == 3
    assert len(IndexState.load(server_store, host_id="host-b")) == 3

    # Host b's disk loses a photo: its scan removes its own point, never host a's.
    photos[0].unlink()
    summary = await scan(make_pipeline(server_store, decoder, working_models(), tmp_path, host="host-b"), lib)
    assert summary.deleted == 1
    assert server_store.count(PhotoFilter(host_ids=("host-a",))) == 3
    assert server_store.count(PhotoFilter(host_ids=("host-b",))) == 2

    # Search spans both hosts unless filtered.
    query = np.ones(server_store.dim, dtype=np.float32)
    everyone = server_store.search(query, limit=10)
    assert {h.payload.host_id for h in everyone} == {"host-a", "host-b"} and len(everyone) == 5
    only_a = server_store.search(query, limit=10, flt=PhotoFilter(host_ids=("host-a",)))
    assert len(only_a) == 3 and {h.payload.host_id for h in only_a} == {"host-a"}

    # Duplicates are per host: the other host's copy of a photo is not one this host can remove.
    shutil.copy2(photos[1], lib / "copy.jpg")
    await scan(make_pipeline(server_store, decoder, working_models(), tmp_path, host="host-b"), lib)
    finder = DuplicateFinder(Catalog(server_store, Jobs()), Jobs(), server_store, host_id="host-b")
    answer = await finder.find(DuplicateParams(kind="exact"), wait_s=30)
    assert answer.result is not None
    groups = [set(answer.result.snapshot.point_ids(g.rows)) for g in answer.result.groups]
    b_ids = {p.payload.path: p.id for p in server_store.scroll(flt=PhotoFilter(host_ids=("host-b",)))}
    assert groups == [{b_ids[str(photos[1].resolve())], b_ids[str((lib / "copy.jpg").resolve())]}]
