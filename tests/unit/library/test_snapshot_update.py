"""A snapshot brought up to date from change records holds what a full read of the store would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, VectorStore, payload_from_dict, point_id
from photoindex.library.snapshot import Snapshot, take_snapshot
from photoindex.library.snapshot_update import updated_snapshot
from photoindex.library.version import LibraryVersion

HOST = "host-s"
V1 = LibraryVersion(photos=0, indexed=0, captioned=0)
V2 = LibraryVersion(photos=0, indexed=0, captioned=0, generation=1)
COLUMNS = ("ids", "status", "size", "width", "height", "mtime_ns", "sha256", "phash", "has_phash", "host", "taken_ts")
CAPTIONS = ("a cat on a mat", "a dog in the snow", "two cats and a dog", "a red car", "snow on the mountain")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    opened = EdgeStore.open(tmp_path / "store", "snapshot-test", 4)
    yield opened
    opened.close()


def _payload(i: int, *, caption: str | None = None, folder: str = "/lib/a") -> PhotoPayload:
    payload: dict[str, Any] = {
        "path": f"{folder}/{i}.jpg",
        "host_id": HOST if i % 5 else "other-host",
        "status": "indexed" if i % 7 else "failed",
        "size": 100 + i,
        "width": 40 + i,
        "height": 30,
        "orientation": 6 if i % 4 == 0 else 1,
        "mtime_ns": i,
        "sha256": f"{i:064x}",
        "phash": f"{i * 7919:016x}",
        "taken_at_ts": 1_600_000_000 + i,
        "indexed_at": f"2024-01-01T00:00:{i % 60:02d}",
    }
    if i % 3 == 0:
        payload["location"] = {"lat": 10.0 + i, "lon": 20.0}
        payload.update(place_city=f"City{i % 4}", place_region="R", place_country="C", place_country_code="CC")
    if caption is not None:
        payload["caption"] = caption
    return payload_from_dict(payload)


def _pid(i: int) -> str:
    return point_id(HOST, f"/lib/{i}.jpg")


def _same(a: Snapshot, b: Snapshot) -> None:
    for name in COLUMNS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=name == "taken_ts"), name
    assert np.array_equal(a.lat, b.lat, equal_nan=True)
    names = {"dir": (a.dir_names, b.dir_names), "place": (a.place_names, b.place_names)}
    for codes_a, codes_b, (names_a, names_b) in (
        (a.dir_code, b.dir_code, names["dir"]),
        (a.place, b.place, names["place"]),
    ):
        assert codes_a is not None and codes_b is not None
        decoded_a = [names_a[c] if c >= 0 else None for c in codes_a]
        decoded_b = [names_b[c] if c >= 0 else None for c in codes_b]
        assert decoded_a == decoded_b
    assert a.captions.documents == b.captions.documents
    for query in ("cat", "dog snow", "car", "mountain", "mat"):
        assert a.captions.match(query, rows=len(a), limit=10) == b.captions.match(query, rows=len(b), limit=10)


def test_an_update_from_touched_ids_matches_a_full_read(store: VectorStore) -> None:
    rng = np.random.default_rng(1)
    store.upsert(
        [
            PhotoPoint(_pid(i), _payload(i, caption=CAPTIONS[i % 5] if i % 2 else None), rng.random(4, np.float32))
            for i in range(60)
        ]
    )
    before = take_snapshot(store, V1)
    removed = [_pid(i) for i in (0, 7, 13, 59)]
    store.delete(removed)
    rewritten = [
        PhotoPoint(_pid(i), _payload(i, caption="a cat in a car", folder="/lib/moved"), None) for i in (2, 3, 30)
    ]
    added = [PhotoPoint(_pid(i), _payload(i, caption=CAPTIONS[i % 5], folder="/new"), None) for i in range(60, 70)]
    store.upsert(rewritten + added)
    store.set_payload(_pid(11), {"caption": "snow and a dog"})
    touched = {*removed, *(p.id for p in rewritten), *(p.id for p in added), _pid(11), _pid(999)}
    updated = updated_snapshot(before, store, touched, V2)
    assert updated is not None and updated.version == V2
    _same(updated, take_snapshot(store, V2))
