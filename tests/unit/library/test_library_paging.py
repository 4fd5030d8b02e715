"""Paging through every search kind with many exact ties: each photo once, in the total order, on both stores.

600 photos are 100 copies each of 6 pictures (identical vectors, so their
scores tie exactly), three times the largest page. Each search kind is paged
with every page size from 1 to 200 through the cursor; then again while
photos are removed and added between pages.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import numpy as np
import pytest
from qdrant_client import QdrantClient

from photoindex.indexer.store import EdgeStore, PhotoPoint, ServerStore, VectorStore, payload_from_dict, point_id
from photoindex.library import Catalog, GeoCircle, Hit, Jobs, Searcher, SearchFilters, combine
from photoindex.library.paging import Position, rank_key

DIM = 8
PICTURES = 6
COPIES = 100  # 600 photos: three times the largest page
ALL_PAGE_SIZES = range(1, 201)  # the slow sweep, on the embedded store
# Small pages cost the most (600 pages at size 1): all of them, then a spread up to 200.
PAGE_SIZES = [*range(1, 11), 16, 25, 50, 99, 100, 101, 150, 199, 200]
# qdrant-client's local mode (standing in for a server) costs ~20 ms a search here: a sparser spread.
SERVER_PAGE_SIZES = [3, 8, 21, 55, 100, 101, 200]
# Under churn every page changes the library (and the store rebuilds it per size): a spread of sizes.
CHURN_PAGE_SIZES = [1, 3, 7, 16, 50, 100, 101, 200]
SERVER_CHURN_PAGE_SIZES = [16, 100, 101, 200]
PARIS = (48.8566, 2.3522)
CAPTIONED = (0, 3)  # copies of these pictures carry a caption the hybrid query matches (100 of them: < 200)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


PICTURE_VECTORS = _unit(np.random.default_rng(16), PICTURES)


def photo(picture: int, name: str) -> PhotoPoint:
    path = f"/lib/{picture}/{name}.jpg"
    spread = zlib.crc32(name.encode())
    near_paris = spread % 3 != 0
    payload = {
        "path": path,
        "root": "/lib",
        "status": "indexed",
        "camera_make": "Canon" if spread % 2 else "NIKON",
        "location": {"lat": PARIS[0] + 0.01, "lon": PARIS[1]}
        if near_paris
        else {"lat": PARIS[0] + 2.0, "lon": PARIS[1]},
    }
    if picture in CAPTIONED and int(name.split("-")[-1]) % 2 == 0:
        payload["caption"] = "a red kite over a sandy beach"
    return PhotoPoint(id=point_id("host-a", path), payload=payload_from_dict(payload), vector=PICTURE_VECTORS[picture])


@dataclass
class Kind:
    """One search kind as the API runs it: a query vector, filters, exclusions, a caption query."""

    name: str
    vector: np.ndarray
    filters: SearchFilters = field(default_factory=SearchFilters)
    exclude: frozenset[str] = frozenset()
    caption_query: str | None = None

    def expected(self, points: dict[str, PhotoPoint]) -> set[str]:
        makes = self.filters.camera_makes
        return {
            p.id
            for p in points.values()
            if p.id not in self.exclude
            and self.filters.accepts(p.payload)
            and (makes is None or p.payload.camera_make in makes)
        }


KIND_NAMES = ("text", "image", "combined", "similar", "filtered", "radius", "hybrid")


def make_kind(name: str, points: dict[str, PhotoPoint]) -> Kind:
    rng = np.random.default_rng(9)
    text = _unit(rng, 1)[0]  # stands for a text embedding
    if name == "text":
        return Kind(name, text)
    if name == "image":
        return Kind(name, PICTURE_VECTORS[4])  # an indexed picture: its 100 copies tie at the top
    if name == "combined":
        combined = combine([(PICTURE_VECTORS[1], 1.0), (text, 0.5)], [(PICTURE_VECTORS[2], 0.5)])
        assert combined is not None
        return Kind(name, combined)
    if name == "similar":
        first = points[min(points)]
        assert first.vector is not None
        return Kind(name, first.vector, exclude=frozenset({first.id}))
    if name == "filtered":
        return Kind(name, text, SearchFilters(camera_makes=("Canon",)))
    if name == "radius":  # checked after the store's box search
        return Kind(name, text, SearchFilters(near=GeoCircle(PARIS[0], PARIS[1], 50.0)))
    assert name == "hybrid"
    return Kind(name, text, caption_query="red kite")


def open_adapter(kind: str, where: Path) -> VectorStore:
    if kind == "edge":
        return EdgeStore.open(where / "edge", "paging-test", DIM)
    return ServerStore(QdrantClient(location=":memory:"), "paging-test", DIM)


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_adapter(request.param, tmp_path)
    yield opened
    opened.close()


def library(store: VectorStore) -> dict[str, PhotoPoint]:
    points = [photo(p, f"p{p}-{c}") for p in range(PICTURES) for c in range(COPIES)]
    store.upsert(points)
    return {p.id: p for p in points}


Between = Callable[[], Awaitable[None]]


async def page_through(searcher: Searcher, kind: Kind, limit: int, between: Between | None = None) -> list[Hit]:
    """Every page of ``kind`` by the cursor; ``between`` runs after each page but the last."""
    served: list[Hit] = []
    after: Position | None = None
    skip = ties = 0
    captions = None
    while True:
        page = await searcher.search(
            kind.vector,
            kind.filters,
            limit=limit,
            after=after,
            skip=skip,
            ties=ties,
            caption_query=kind.caption_query,
            caption_matches=captions,
            exclude=kind.exclude,
        )
        served.extend(page.hits)
        if not page.more:
            return served
        assert len(page.hits) == limit
        after, skip, ties = Position(page.hits[-1].score, page.hits[-1].id), page.skip, page.ties
        captions = page.caption_matches
        if between is not None:
            await between()


def assert_total_order(served: list[Hit]) -> None:
    keys = [rank_key(h.score, h.id) for h in served]
    assert all(a < b for a, b in itertools.pairwise(keys)), "not in (score desc, id) order, or a repeat"


async def searcher_for(store: VectorStore) -> tuple[Searcher, Catalog]:
    catalog = Catalog(store, Jobs(), version_check_s=0.0)
    await catalog.snapshot(wait_s=10.0)
    return Searcher(store, catalog), catalog


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_page_sizes_serve_each_photo_once_in_order(store: VectorStore, kind_name: str) -> None:
    check_page_sizes(store, kind_name, PAGE_SIZES if isinstance(store, EdgeStore) else SERVER_PAGE_SIZES)


@pytest.mark.slow
@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_every_page_size_from_1_to_200_on_the_embedded_store(tmp_path: Path, kind_name: str) -> None:
    store = open_adapter("edge", tmp_path)
    try:
        check_page_sizes(store, kind_name, ALL_PAGE_SIZES)
    finally:
        store.close()


def check_page_sizes(store: VectorStore, kind_name: str, sizes: Iterable[int]) -> None:
    points = library(store)
    kind = make_kind(kind_name, points)

    async def main() -> None:
        searcher, _catalog = await searcher_for(store)
        reference = await page_through(searcher, kind, 600)
        assert {h.id for h in reference} == kind.expected(points)
        assert_total_order(reference)
        scores = [h.score for h in reference]
        assert len(set(scores)) < len(scores) / 10, "the test needs many exact ties"
        for limit in sizes:
            served = await page_through(searcher, kind, limit)
            assert [h.id for h in served] == [h.id for h in reference], limit

    anyio.run(main)


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_offset_pages_follow_the_same_order(store: VectorStore, kind_name: str) -> None:
    points = library(store)
    kind = make_kind(kind_name, points)

    async def main() -> None:
        searcher, _catalog = await searcher_for(store)
        reference = [h.id for h in await page_through(searcher, kind, 600)]
        for limit in (7, 64, 200):
            served: list[str] = []
            for offset in range(0, len(reference) + limit, limit):
                page = await searcher.search(
                    kind.vector, kind.filters, limit=limit, offset=offset,
                    caption_query=kind.caption_query, exclude=kind.exclude,
                )  # fmt: skip
                served.extend(h.id for h in page.hits)
            assert served == reference, limit

    anyio.run(main)


class Churn:
    """Between pages: removes two photos and adds two copies (which tie with photos already there)."""

    def __init__(self, store: VectorStore, catalog: Catalog | None, points: dict[str, PhotoPoint]) -> None:
        self._store = store
        self._catalog = catalog
        self._rng = np.random.default_rng(5)
        ids = sorted(points)
        self.removable = set(self._rng.choice(ids, size=200, replace=False).tolist())
        self.stable = set(ids) - self.removable
        self.added: set[str] = set()
        self._names = itertools.count()

    async def __call__(self) -> None:
        present = sorted(self.removable)
        gone = self._rng.choice(present, size=min(2, len(present)), replace=False).tolist() if present else []
        self._store.delete(gone)
        self.removable -= set(gone)
        new = [photo(int(self._rng.integers(PICTURES)), f"new-{next(self._names)}") for _ in range(2)]
        self._store.upsert(new)
        self.added |= {p.id for p in new}
        if self._catalog is not None:
            await self._catalog.snapshot(wait_s=10.0)  # the hybrid half sees the change too


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_pages_stay_exact_while_photos_come_and_go(store: VectorStore, kind_name: str) -> None:
    sizes = CHURN_PAGE_SIZES if isinstance(store, EdgeStore) else SERVER_CHURN_PAGE_SIZES

    async def main() -> None:
        for limit in sizes:
            points = library(store)
            kind = make_kind(kind_name, points)
            searcher, catalog = await searcher_for(store)
            churn = Churn(store, catalog if kind.caption_query else None, points)
            stable = churn.stable & kind.expected(points)
            served = await page_through(searcher, kind, limit, between=churn)
            ids = [h.id for h in served]
            assert len(ids) == len(set(ids)), (limit, "a photo came back twice")
            assert stable <= set(ids), (limit, "a photo present throughout was skipped")
            assert set(ids) <= set(points) | churn.added
            assert_total_order(served)
            assert len(stable) > len(kind.expected(points)) / 2
            store.delete(list({*points, *churn.added}))

    anyio.run(main)
