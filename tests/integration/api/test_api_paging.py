"""Cursor paging over HTTP with many exact ties: every search endpoint, duplicates, and `photoindex search`.

450 photos are 150 copies each of three pictures (identical vectors: their
scores tie exactly). Each endpoint is paged by ``next_cursor``; every photo
comes back once, best first and by id among ties, also while photos come and
go between pages. `photoindex search --limit 500` pages through a real
uvicorn server (the API serves at most 200 a page).
"""

from __future__ import annotations

import hashlib
import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
import uvicorn
from litestar.testing import TestClient

from photoindex.config import ApiSettings, Settings
from photoindex.indexer.models.worker import ModelWorker, Priority
from photoindex.indexer.store import PhotoPoint, payload_from_dict, point_id
from photoindex.library.paging import MAX_LIMIT
from photoindex.oneshot.daemon_client import search_via_daemon
from tests.fixtures.images import make_jpeg
from tests.integration.api.conftest import SPEC, Library, api_app, client_for, open_store, settings_for
from tests.integration.conftest import HOST, TINY_DIM

Client = TestClient[Any]
PICTURES = 3
COPIES = 150
# Small pages are swept at the library layer (tests/unit/library/test_library_paging.py); here a subset.
PAGE_SIZES = [3, 50, 149, 150, 151, 200]
_VECTORS = np.random.default_rng(3).standard_normal((PICTURES, TINY_DIM)).astype(np.float32)
VECTORS = _VECTORS / np.linalg.norm(_VECTORS, axis=1, keepdims=True)


def photo(root: Path, picture: int, name: str) -> PhotoPoint:
    path = f"{root}/{picture}/{name}.jpg"
    pair = hashlib.sha256(f"{picture}-{int(name.split('-')[-1]) // 2}".encode()).hexdigest()
    payload = {
        "path": path,
        "host_id": HOST,  # duplicates are grouped per host: these are the API's host's photos
        "root": str(root),
        "name": f"{name}.jpg",
        "status": "indexed",
        "size": 1000,
        "width": 64,
        "height": 48,
        "format": "JPEG",
        "sha256": pair,  # two copies share each content: 225 exact groups that tie
        "mtime_ns": 1,
    }
    return PhotoPoint(id=point_id(HOST, path), payload=payload_from_dict(payload), vector=VECTORS[picture])


@pytest.fixture(params=["edge", "server"])
def tied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    store = open_store(request.param, tmp_path)
    root = tmp_path / "lib"
    root.mkdir()
    points = [photo(root, p, f"p{p}-{c}") for p in range(PICTURES) for c in range(COPIES)]
    store.upsert(points)
    paths = {Path(p.payload.path).stem: p.payload.path for p in points}
    ids = {Path(p.payload.path).stem: p.id for p in points}
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "host-id").write_text(HOST + "\n", encoding="ascii")  # the API is on the host that indexed
    yield Library(root, store, ids, paths, tmp_path / "cache", data_dir)
    store.close()


@pytest.fixture
def models(api_models: ModelWorker) -> ModelWorker:
    anyio.run(api_models.ensure_embedder, Priority.QUERY)  # loaded, as in a running daemon
    return api_models


@pytest.fixture
def client(tied: Library, models: ModelWorker) -> Iterator[Client]:
    with client_for(tied, models) as test_client:
        yield test_client


Fetch = Callable[[dict[str, Any]], dict[str, Any]]


def page_all(fetch: Fetch, limit: int, between: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    page = fetch({"limit": limit})
    while True:
        hits.extend(page["hits"])
        if page["next_cursor"] is None:
            return hits
        assert len(page["hits"]) == limit
        if between is not None:
            between()
        page = fetch({"limit": limit, "cursor": page["next_cursor"]})


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def fetchers(client: Client, tied: Library, tmp_path: Path) -> dict[str, Fetch]:
    image = tmp_path / "query.jpg"
    make_jpeg(image, (96, 72), seed=4)
    content = image.read_bytes()
    some_id = tied.ids["p1-0"]
    return {
        "text": lambda p: ok(client.get("/api/v1/search/text", params={"q": "a photo", **p})),
        "image": lambda p: ok(client.post("/api/v1/search/image", params=p, files={"image": ("q.jpg", content)})),
        "combined": lambda p: ok(
            client.post(
                "/api/v1/search",
                json={"positive": [{"text": "sky"}, {"photo_id": some_id, "weight": 0.5}], **p},
            )
        ),
        "similar": lambda p: ok(client.get(f"/api/v1/photos/{some_id}/similar", params=p)),
        "filtered": lambda p: ok(client.get("/api/v1/search/text", params={"q": "x", "folder": f"{tied.root}/2", **p})),
    }


def assert_ranked(hits: list[dict[str, Any]]) -> None:
    keys = [(-h["score"], h["id"]) for h in hits]
    assert all(a < b for a, b in itertools.pairwise(keys)), "not in (score desc, id) order, or a repeat"


def test_every_search_endpoint_pages_each_photo_once(client: Client, tied: Library, tmp_path: Path) -> None:
    for name, fetch in fetchers(client, tied, tmp_path).items():
        expected = set(tied.ids.values())
        if name in ("similar", "combined"):  # a photo searched by is not among its results
            expected.discard(tied.ids["p1-0"])
        if name == "filtered":
            expected = {i for stem, i in tied.ids.items() if stem.startswith("p2-")}
        for limit in PAGE_SIZES:
            hits = page_all(fetch, limit)
            assert [h["id"] for h in hits] and {h["id"] for h in hits} == expected, (name, limit)
            assert len(hits) == len(expected), (name, limit)
            assert_ranked(hits)


def test_pages_stay_exact_while_photos_come_and_go(client: Client, tied: Library, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    names = itertools.count()
    for name, fetch in fetchers(client, tied, tmp_path).items():
        present = sorted(p.id for p in tied.store.scroll())  # the kinds before this one changed the library
        removable = set(rng.choice(present, size=60, replace=False).tolist()) - {tied.ids["p1-0"]}
        stable = set(present) - removable

        def churn(removable: set[str] = removable) -> None:
            gone = sorted(removable)[:2]
            tied.store.delete(gone)
            removable.difference_update(gone)
            tied.store.upsert([photo(tied.root, int(rng.integers(PICTURES)), f"new-{next(names)}") for _ in range(2)])

        hits = page_all(fetch, 7, between=churn)
        ids = [h["id"] for h in hits]
        assert len(ids) == len(set(ids)), name
        wanted = stable if name != "filtered" else {i for s, i in tied.ids.items() if s.startswith("p2-")} & stable
        assert wanted - {tied.ids["p1-0"]} <= set(ids), name
        assert_ranked(hits)


def test_a_cursor_only_continues_its_own_query(client: Client) -> None:
    first = ok(client.get("/api/v1/search/text", params={"q": "a photo", "limit": 5}))
    cursor = first["next_cursor"]
    other = client.get("/api/v1/search/text", params={"q": "a dog", "limit": 5, "cursor": cursor})
    assert other.status_code == 400 and other.json()["code"] == "ERR_BAD_REQUEST"
    both = client.get("/api/v1/search/text", params={"q": "a photo", "cursor": cursor, "offset": 5})
    assert both.status_code == 400
    forged = client.get("/api/v1/search/text", params={"q": "a photo", "cursor": "AAAA"})
    assert forged.status_code == 400
    # offset pages follow the same total order on a quiet library
    by_offset = ok(client.get("/api/v1/search/text", params={"q": "a photo", "limit": 5, "offset": 5}))
    by_cursor = ok(client.get("/api/v1/search/text", params={"q": "a photo", "limit": 5, "cursor": cursor}))
    assert [h["id"] for h in by_offset["hits"]] == [h["id"] for h in by_cursor["hits"]]


def test_duplicate_groups_page_by_cursor_in_a_total_order(client: Client) -> None:
    groups: list[dict[str, Any]] = []
    params: dict[str, Any] = {"kind": "exact", "limit": 7, "wait_s": 10}
    while True:
        page = ok(client.get("/api/v1/duplicates", params=params))
        assert page["computing"] is False
        groups.extend(page["groups"])
        if page["next_cursor"] is None:
            break
        params = {"kind": "exact", "limit": 7, "wait_s": 10, "cursor": page["next_cursor"]}
    keepers = [g["keeper_id"] for g in groups]
    assert len(keepers) == len(set(keepers)) == PICTURES * COPIES // 2
    assert keepers == sorted(keepers)  # every group frees the same bytes: ordered by keeper id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_photoindex_search_pages_past_the_api_limit(tied: Library, models: ModelWorker) -> None:
    port = free_port()
    settings = settings_for(tied, port=port)
    app = api_app(settings, store=tied.store, models=models, spec=SPEC,
                     config_file=tied.data_dir / "config.toml", projection_warm_up=False)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        started = threading.Event()
        while not started.wait(0.05):
            if server.started:
                started.set()
            assert thread.is_alive(), "the server did not start"
        client_settings = Settings(api=ApiSettings(port=port))
        hits = search_via_daemon(client_settings, text="a photo", image=None, limit=500, offset=0)
        assert hits is not None and MAX_LIMIT < 500
        assert len(hits) == PICTURES * COPIES  # all 450, over three pages
        assert len({h["id"] for h in hits}) == len(hits)
        assert_ranked(hits)
        fewer = search_via_daemon(client_settings, text="a photo", image=None, limit=250, offset=100)
        assert fewer is not None and [h["id"] for h in fewer] == [h["id"] for h in hits[100:350]]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
