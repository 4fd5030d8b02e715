"""One contract for every VectorStore: the embedded edge shard and a Qdrant collection.

The server adapter runs against qdrant-client's local mode (in-process, on
disk under tmp_path), which implements the same filter and search semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.store import (
    EdgeStore,
    GeoBox,
    PhotoFilter,
    PhotoPoint,
    ServerStore,
    VectorStore,
    payload_from_dict,
    payload_to_dict,
    point_id,
)

DIM = 8
COLLECTION = "photos-test"

Opener = Callable[..., VectorStore]


@pytest.fixture(params=["edge", "server"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the adapter under test on one tmp location; call again (after close) to reopen."""
    opened: list[VectorStore] = []

    def opener(dim: int = DIM) -> VectorStore:
        store = open_adapter(request.param, tmp_path, dim)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> VectorStore:
    return open_store()


def open_adapter(kind: str, where: Path, dim: int = DIM) -> VectorStore:
    if kind == "edge":
        return EdgeStore.open(where / "edge", COLLECTION, dim)
    return ServerStore(QdrantClient(path=str(where / "qdrant")), COLLECTION, dim)


def unit(rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    v = rng.standard_normal((n or 1, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v if n else v[0]


def photo(name: str, path: str, vector: np.ndarray | None, **payload: Any) -> PhotoPoint:
    return PhotoPoint(
        id=point_id("host-a", path),
        payload=payload_from_dict(
            {"name": name, "path": path, "status": "indexed" if vector is not None else "pending", **payload}
        ),
        vector=vector,
    )


# -- roundtrip, idempotence, points without vectors --------------------------------


def test_upsert_then_retrieve_returns_payload_and_vector(store: VectorStore) -> None:
    rng = np.random.default_rng(1)
    v = unit(rng)
    p = photo("a", "/lib/x/a.jpg", v, size=123, mtime_ns=1_700_000_000_123_456_789, location={"lat": 1.5, "lon": 2.5})
    store.upsert([p])
    [got] = store.retrieve([p.id], with_vectors=True)
    assert got.id == p.id
    assert payload_to_dict(got.payload) == {**payload_to_dict(p.payload), "kind": "photo", "dirs": ["/lib", "/lib/x"]}
    assert got.vector is not None and got.vector.dtype == np.float32
    np.testing.assert_allclose(got.vector, v, atol=1e-6)
    [without] = store.retrieve([p.id])
    assert without.vector is None


def test_reupsert_replaces_the_point_instead_of_adding_one(store: VectorStore) -> None:
    rng = np.random.default_rng(2)
    p = photo("a", "/lib/a.jpg", unit(rng), caption="old")
    store.upsert([p])
    store.upsert([p])
    changed = PhotoPoint(
        id=p.id, payload=payload_from_dict({"name": "a", "path": "/lib/a.jpg", "status": "indexed"}), vector=p.vector
    )
    store.upsert([changed])
    assert store.count() == 1
    [got] = store.retrieve([p.id])
    assert "caption" not in payload_to_dict(got.payload)  # an upsert replaces the payload; set_payload merges


def test_points_without_vectors_are_stored_counted_and_never_searched(store: VectorStore) -> None:
    rng = np.random.default_rng(3)
    indexed = photo("a", "/lib/a.jpg", unit(rng))
    pending = photo("b", "/lib/b.jpg", None)
    failed = photo("c", "/lib/c.jpg", None, status="failed", error_code="ERR_DECODE")
    store.upsert([indexed, pending, failed])
    assert store.count() == 3
    got = {p.id: p for p in store.retrieve([indexed.id, pending.id, failed.id], with_vectors=True)}
    assert got[pending.id].vector is None and got[failed.id].payload.error_code == "ERR_DECODE"
    hits = store.search(unit(rng), limit=10)
    assert [h.id for h in hits] == [indexed.id]
    # A pending point gets its vector by a later upsert of the same id.
    store.upsert(
        [
            PhotoPoint(
                id=pending.id,
                payload=payload_from_dict({**payload_to_dict(pending.payload), "status": "indexed"}),
                vector=unit(rng),
            )
        ]
    )
    assert {h.id for h in store.search(unit(rng), limit=10)} == {indexed.id, pending.id}


def test_empty_batches_are_no_ops(store: VectorStore) -> None:
    store.upsert([])
    store.delete([])
    assert store.retrieve([]) == []
    assert store.count() == 0


# -- set_payload, delete ---------------------------------------------------------------


def test_set_payload_merges_and_keeps_the_vector(store: VectorStore) -> None:
    rng = np.random.default_rng(4)
    v = unit(rng)
    p = photo("a", "/lib/old/a.jpg", v, caption_status="pending")
    store.upsert([p])
    store.set_payload(p.id, {"caption": "a red kite", "caption_status": "done"})
    [got] = store.retrieve([p.id], with_vectors=True)
    assert got.payload.caption == "a red kite"
    assert got.payload.caption_status == "done"
    assert got.payload.name == "a"
    assert got.vector is not None
    np.testing.assert_allclose(got.vector, v, atol=1e-6)


def test_set_payload_with_a_new_path_moves_the_point_between_folders(store: VectorStore) -> None:
    rng = np.random.default_rng(5)
    p = photo("a", "/lib/old/a.jpg", unit(rng))
    store.upsert([p])
    store.set_payload(p.id, {"path": "/lib/new/a.jpg"})
    assert store.count(PhotoFilter(path_prefix="/lib/old")) == 0
    assert store.count(PhotoFilter(path_prefix="/lib/new")) == 1


def test_set_payload_on_a_missing_point_is_not_found(store: VectorStore) -> None:
    with pytest.raises(StoreError) as err:
        store.set_payload(point_id("host-a", "/nowhere.jpg"), {"caption": "x"})
    assert err.value.code == ErrorCode.NOT_FOUND


def test_delete_removes_points_and_ignores_unknown_ids(store: VectorStore) -> None:
    rng = np.random.default_rng(6)
    a, b = photo("a", "/lib/a.jpg", unit(rng)), photo("b", "/lib/b.jpg", None)
    store.upsert([a, b])
    store.delete([a.id, point_id("host-a", "/never/stored.jpg")])
    assert [p.id for p in store.retrieve([a.id, b.id])] == [b.id]
    assert store.search(unit(rng), limit=5) == []
    assert store.count() == 1


# -- search ----------------------------------------------------------------------------


def test_search_ranks_by_cosine_similarity_with_the_own_vector_first(store: VectorStore) -> None:
    rng = np.random.default_rng(7)
    vectors = unit(rng, 30)
    points = [photo(f"p{i}", f"/lib/p{i}.jpg", vectors[i]) for i in range(30)]
    store.upsert(points)
    for i in (0, 13, 29):
        hits = store.search(vectors[i], limit=30)
        assert hits[0].id == points[i].id
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        expected = {points[j].id: float(vectors[j] @ vectors[i]) for j in range(30)}
        for h in hits:
            assert h.score == pytest.approx(expected[h.id], abs=1e-4)
        assert hits[0].payload.name == f"p{i}"
    # An unnormalized query scores the same: cosine ignores length.
    assert store.search(vectors[3] * 7.0, limit=1)[0].score == pytest.approx(1.0, abs=1e-5)


def test_search_pages_with_offset_and_limit(store: VectorStore) -> None:
    rng = np.random.default_rng(8)
    vectors = unit(rng, 25)
    store.upsert([photo(f"p{i}", f"/lib/p{i}.jpg", vectors[i]) for i in range(25)])
    q = unit(rng)
    everything = [h.id for h in store.search(q, limit=25)]
    paged = [h.id for off in range(0, 25, 10) for h in store.search(q, limit=10, offset=off)]
    assert paged == everything
    assert len(set(everything)) == 25
    assert store.search(q, limit=10, offset=25) == []
    assert store.search(q, limit=0) == []


def test_search_rejects_a_vector_of_the_wrong_size(store: VectorStore) -> None:
    with pytest.raises(StoreError, match="dim"):
        store.search(np.ones(DIM + 1, dtype=np.float32), limit=3)


# -- filters ---------------------------------------------------------------------------


def library(rng: np.random.Generator) -> list[PhotoPoint]:
    """Seven photos that differ in every field a PhotoFilter looks at."""
    return [
        photo(
            "A",
            "/lib/2020/trip/a.jpg",
            unit(rng),
            root="/lib",
            taken_at_ts=1000.0,
            camera_make="Canon",
            camera_model="EOS R5",
            lens="RF 24-70",
            format="jpeg",
            location={"lat": 48.85, "lon": 2.35},
            width=6000,
            height=4000,
            sha256="aa",
            caption_status="done",
        ),
        photo(
            "B",
            "/lib/2020/b.heic",
            unit(rng),
            root="/lib",
            taken_at_ts=2000.0,
            camera_make="Apple",
            camera_model="iPhone 13",
            format="heic",
            location={"lat": 40.7, "lon": -74.0},
            width=4032,
            height=3024,
            sha256="bb",
            caption_status="pending",
        ),
        photo("C", "/other/c.png", unit(rng), root="/other", format="png", width=800, height=600, sha256="cc"),
        photo(
            "D",
            "/lib/2020/trip/d.dng",
            None,
            root="/lib",
            taken_at_ts=3000.0,
            camera_make="Nikon",
            camera_model="Z6",
            format="dng",
            location={"lat": -33.9, "lon": 151.2},
            width=6048,
            height=4024,
            sha256="dd",
        ),
        photo("E", "/lib/2020/trip2/e.jpg", None, root="/lib", status="failed", error_code="ERR_DECODE"),
        photo("F", "/lib/f.jpg", unit(rng), root="/lib", format="jpeg", location={"lat": -17.0, "lon": 179.5}),
        photo("G", "/lib/g.jpg", unit(rng), root="/lib", format="jpeg", location={"lat": -17.0, "lon": -179.0}),
    ]


WITH_VECTORS = {"A", "B", "C", "F", "G"}

FILTER_CASES: list[tuple[str, PhotoFilter | None, set[str]]] = [
    ("none", None, set("ABCDEFG")),
    ("empty filter", PhotoFilter(), set("ABCDEFG")),
    ("roots", PhotoFilter(roots=("/lib",)), set("ABDEFG")),
    ("roots other", PhotoFilter(roots=("/other",)), {"C"}),
    ("path_prefix", PhotoFilter(path_prefix="/lib/2020/trip"), {"A", "D"}),  # not trip2/
    ("path_prefix slash", PhotoFilter(path_prefix="/lib/2020/trip/"), {"A", "D"}),
    ("path_prefix parent", PhotoFilter(path_prefix="/lib/2020"), set("ABDE")),
    ("path_prefix root", PhotoFilter(path_prefix="/"), set("ABCDEFG")),
    ("path_prefix file is no folder", PhotoFilter(path_prefix="/other/c.png"), set()),
    ("statuses", PhotoFilter(statuses=("pending", "failed")), {"D", "E"}),
    ("taken range is half-open", PhotoFilter(taken_from_ts=1500.0, taken_to_ts=3000.0), {"B"}),
    ("taken from", PhotoFilter(taken_from_ts=1000.0), {"A", "B", "D"}),
    ("taken to", PhotoFilter(taken_to_ts=2000.0), {"A"}),
    ("camera_makes", PhotoFilter(camera_makes=("Canon", "Nikon")), {"A", "D"}),
    ("camera_models", PhotoFilter(camera_models=("iPhone 13",)), {"B"}),
    ("lenses", PhotoFilter(lenses=("RF 24-70",)), {"A"}),
    ("formats", PhotoFilter(formats=("png", "dng")), {"C", "D"}),
    ("has_gps", PhotoFilter(has_gps=True), set("ABDFG")),
    ("no gps", PhotoFilter(has_gps=False), {"C", "E"}),
    ("geo_box", PhotoFilter(geo_box=GeoBox(min_lat=40.0, max_lat=60.0, min_lon=-10.0, max_lon=20.0)), {"A"}),
    (
        "geo_box across the antimeridian",
        PhotoFilter(geo_box=GeoBox(min_lat=-30.0, max_lat=0.0, min_lon=170.0, max_lon=-170.0)),
        {"F", "G"},
    ),
    ("min_width", PhotoFilter(min_width=5000), {"A", "D"}),
    ("min_height", PhotoFilter(min_height=3024), {"A", "B", "D"}),
    ("min both", PhotoFilter(min_width=4000, min_height=4010), {"D"}),
    ("sha256", PhotoFilter(sha256=("bb", "cc", "zz")), {"B", "C"}),
    ("paths", PhotoFilter(paths=("/other/c.png", "/lib/f.jpg")), {"C", "F"}),
    ("caption_status", PhotoFilter(caption_status="pending"), {"B"}),
    ("combined", PhotoFilter(roots=("/lib",), has_gps=True, min_width=5000), {"A", "D"}),
    ("empty tuple matches nothing", PhotoFilter(statuses=()), set()),
]


@pytest.fixture(scope="module", params=["edge", "server"])
def library_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VectorStore]:
    """The library in each adapter, shared by the (read-only) filter cases."""
    store = open_adapter(request.param, tmp_path_factory.mktemp(request.param))
    store.upsert(library(np.random.default_rng(9)))
    store.set_meta({"model_id": "m"})  # the metadata point must never match
    yield store
    store.close()


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filters_select_the_same_photos_in_count_scroll_and_search(
    library_store: VectorStore, flt: PhotoFilter | None, expected: set[str]
) -> None:
    store = library_store
    rng = np.random.default_rng(9)
    assert store.count(flt) == len(expected)
    assert {p.payload.name for p in store.scroll(flt=flt, page_size=3)} == expected
    hits = store.search(unit(rng), limit=50, flt=flt)
    assert {h.payload.name for h in hits} == expected & WITH_VECTORS


# -- scroll, count, meta ---------------------------------------------------------------


def test_scroll_pages_through_everything_and_skips_meta(store: VectorStore) -> None:
    rng = np.random.default_rng(10)
    vectors = unit(rng, 23)
    points = [photo(f"p{i}", f"/lib/p{i}.jpg", vectors[i] if i % 3 else None, size=i) for i in range(23)]
    store.upsert(points)
    store.set_meta({"model_id": "m"})
    seen = list(store.scroll(page_size=5))
    assert sorted(p.id for p in seen) == sorted(p.id for p in points)
    assert all(p.payload.kind == "photo" and p.vector is None for p in seen)
    with_vectors = {p.id: p.vector for p in store.scroll(page_size=4, with_vectors=True)}
    assert sum(v is not None for v in with_vectors.values()) == len([i for i in range(23) if i % 3])


def test_scroll_fields_returns_only_those_payload_keys(store: VectorStore) -> None:
    rng = np.random.default_rng(11)
    store.upsert([photo("a", "/lib/a.jpg", unit(rng), size=5, mtime_ns=7, inode=9, sha256="aa")])
    [p] = store.scroll(fields=("path", "size", "mtime_ns", "inode", "status", "sha256", "absent"))
    assert payload_to_dict(p.payload) == {
        "path": "/lib/a.jpg",
        "size": 5,
        "mtime_ns": 7,
        "inode": 9,
        "status": "indexed",
        "sha256": "aa",
    }


def test_count_is_exact_with_and_without_a_filter(store: VectorStore) -> None:
    rng = np.random.default_rng(12)
    store.upsert([photo(f"p{i}", f"/lib/{i % 2}/p{i}.jpg", unit(rng) if i % 4 else None) for i in range(40)])
    store.set_meta({"x": 1})
    assert store.count() == 40
    assert store.count(PhotoFilter(path_prefix="/lib/1")) == 20
    assert store.count(PhotoFilter(statuses=("pending",))) == 10


def test_meta_is_empty_when_new_then_replaced_as_a_whole(store: VectorStore) -> None:
    assert store.get_meta() == {}
    store.set_meta({"model_id": "ViT-B-32", "dim": DIM, "nested": {"a": [1, 2]}})
    assert store.get_meta() == {"model_id": "ViT-B-32", "dim": DIM, "nested": {"a": [1, 2]}}
    store.set_meta({"model_id": "other"})
    assert store.get_meta() == {"model_id": "other"}
    assert store.count() == 0
    assert list(store.scroll()) == []


# -- lifecycle -------------------------------------------------------------------------


def test_reopen_keeps_points_meta_and_indexes(open_store: Opener) -> None:
    rng = np.random.default_rng(13)
    store = open_store()
    points = library(rng)
    store.upsert(points)
    store.set_meta({"model_id": "m"})
    store.flush()
    store.close()
    again = open_store()
    assert again.count() == len(points)
    assert again.get_meta() == {"model_id": "m"}
    assert again.count(PhotoFilter(path_prefix="/lib/2020/trip")) == 2
    a = points[0]
    assert a.vector is not None
    assert again.search(a.vector, limit=1)[0].id == a.id


def test_opening_with_another_dim_is_refused(open_store: Opener) -> None:
    open_store().close()
    with pytest.raises(StoreError, match="dimensional") as err:
        open_store(dim=DIM * 2)
    assert err.value.code == ErrorCode.STORE


def test_a_closed_store_raises_store_error(store: VectorStore) -> None:
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.count()
