"""Which directory is the embedded store after an interrupted build or swap: never a half-built one."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint
from photoindex.indexer.store.edge_layout import EdgeLayout

COLLECTION = "photos"


def _store_with_one_point(base: Path) -> None:
    store = EdgeStore.open(base, COLLECTION, 4)
    store.upsert(
        [
            PhotoPoint(
                id="00000000-0000-0000-0000-00000000000a",
                payload=PhotoPayload(path="/a.jpg"),
                vector=np.ones(4, np.float32),
            )
        ]
    )
    store.close()


def test_a_new_collection_lives_in_its_own_directory(tmp_path: Path) -> None:
    layout = EdgeLayout(tmp_path, COLLECTION)
    assert layout.active() == tmp_path / COLLECTION
    assert layout.next_built() == tmp_path / f"{COLLECTION}+built-1"


def test_a_crash_mid_build_leaves_the_old_store_and_the_next_open_clears_the_rest(tmp_path: Path) -> None:
    _store_with_one_point(tmp_path)
    layout = EdgeLayout(tmp_path, COLLECTION)
    shutil.copytree(tmp_path / COLLECTION, layout.building)  # the child was killed while building
    shutil.copytree(tmp_path / COLLECTION, layout.next_built())  # built, but the pointer never named it
    store = EdgeStore.open(tmp_path, COLLECTION, 4)
    try:
        assert store.path == tmp_path / COLLECTION and store.count() == 1
        assert layout.leftovers() == [] and not layout.building.exists()
    finally:
        store.close()


def test_once_the_pointer_names_the_built_directory_the_old_one_is_a_leftover(tmp_path: Path) -> None:
    _store_with_one_point(tmp_path)
    layout = EdgeLayout(tmp_path, COLLECTION)
    built = layout.next_built()
    shutil.copytree(tmp_path / COLLECTION, built)
    layout.commit(built)  # the crash came after the pointer's rename, before the old directory went
    assert layout.active() == built and layout.leftovers() == [tmp_path / COLLECTION]
    store = EdgeStore.open(tmp_path, COLLECTION, 4)
    try:
        assert store.path == built and store.count() == 1
        assert not (tmp_path / COLLECTION).exists()
        assert layout.next_built() == tmp_path / f"{COLLECTION}+built-2"
    finally:
        store.close()


def test_other_collections_are_not_leftovers(tmp_path: Path) -> None:
    (tmp_path / "photos2").mkdir()
    (tmp_path / "photos+built-x").mkdir()  # not a name the layout gives
    (tmp_path / COLLECTION).mkdir()
    assert EdgeLayout(tmp_path, COLLECTION).leftovers() == []
