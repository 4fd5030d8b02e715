"""The daemon keeps a photo's id when it is renamed or moved, live or while the daemon was stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoindex.indexer.store import VectorStore
from tests.integration.conftest import make_photo
from tests.integration.daemon.conftest import converged, daemon_settings, running

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


def ids_by_sha(store: VectorStore) -> dict[str, str]:
    return {p.payload.sha256: p.id for p in store.scroll()}


def ids_by_path(store: VectorStore) -> dict[str, str]:
    return {p.payload.path: p.id for p in store.scroll()}


async def test_live_renames_and_moves_keep_ids(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(4):
        make_photo(lib / ("sub" if i % 2 else "") / f"p{i}.jpg", seed=i)
    async with running(daemon_settings(tmp_path), [lib]) as daemon:
        await converged(daemon, lib)
        store = daemon.parts.store
        before = ids_by_sha(store)
        old_p0 = ids_by_path(store)[str((lib / "p0.jpg").resolve())]

        (lib / "p0.jpg").rename(lib / "renamed.jpg")
        (lib / "deeper").mkdir()
        (lib / "sub").rename(lib / "deeper" / "moved")  # a folder of 2 photos
        await converged(daemon, lib)
        assert ids_by_sha(store) == before

        make_photo(lib / "p0.jpg", seed=50)  # a new photo where a moved one came from: an id of its own
        await converged(daemon, lib)
        ids = ids_by_path(store)
        assert ids[str((lib / "renamed.jpg").resolve())] == old_p0
        assert ids[str((lib / "p0.jpg").resolve())] not in before.values()
        assert len(set(ids.values())) == len(ids) == 5


async def test_a_rename_while_stopped_keeps_the_id_at_start(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(3):
        make_photo(lib / f"p{i}.jpg", seed=i)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        before = ids_by_sha(daemon.parts.store)
    (lib / "p1.jpg").rename(lib / "renamed.jpg")
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        assert daemon.summary.moved == 1
        assert ids_by_sha(daemon.parts.store) == before
    async with running(settings, [lib]) as daemon:  # and a further restart changes nothing
        await converged(daemon, lib)
        assert ids_by_sha(daemon.parts.store) == before and daemon.summary.moved == 0
