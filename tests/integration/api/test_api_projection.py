"""The map: served at once, fitted in the background, refitted when the library changes, kept on disk."""

from __future__ import annotations

import time
from typing import Any

import pytest
from litestar.testing import TestClient

from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import Library, client_for

Client = TestClient[Any]


def settled(client: Client, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        page = client.get("/api/v1/projection").json()
        if not page["computing"] and not page["stale"]:
            return page
        assert time.monotonic() < deadline, page
        time.sleep(0.1)


def test_map_is_never_waited_for_then_covers_every_indexed_photo(own_library: Library, api_models: ModelWorker) -> None:
    with client_for(own_library, api_models) as client:
        first = client.get("/api/v1/projection").json()
        assert first["stale"] is True  # nothing fitted yet: an answer at once, not a wait
        page = settled(client)
        assert page["method"] == "pca" and page["total"] == 8 and len(page["ids"]) == 8
        assert all(0.0 <= v <= 1.0 for v in page["x"] + page["y"]) and len(page["clusters"]) == 8
        assert set(page["ids"]) == {i for n, i in own_library.ids.items() if n != "broken"}
        part = client.get("/api/v1/projection", params={"limit": 3, "offset": 6}).json()
        assert part["ids"] == page["ids"][6:] and part["next_offset"] is None
        assert page["ids"] == sorted(page["ids"])  # photo-id order: a cursor holds across refits
        paged: list[str] = []
        params: dict[str, Any] = {"limit": 3}
        while True:
            step = client.get("/api/v1/projection", params=params).json()
            paged.extend(step["ids"])
            if step["next_cursor"] is None:
                break
            params = {"limit": 3, "cursor": step["next_cursor"]}
        assert paged == page["ids"]

        removed = own_library.ids["tokyo"]
        assert client.post("/api/v1/photos/remove", json={"ids": [removed]}).json()["removed"] == 1
        stale = client.get("/api/v1/projection").json()
        assert stale["stale"] is True and stale["total"] == 8  # the old map, flagged
    # A new app (a restarted daemon) serves the saved map at once; the library changed, so it refits.
    with client_for(own_library, api_models) as client:
        assert client.get("/api/v1/projection").json()["total"] in (7, 8)
        assert removed not in settled(client)["ids"]


@pytest.mark.slow
def test_umap_fit_runs_in_the_worker_process(own_library: Library, api_models: ModelWorker) -> None:
    with client_for(own_library, api_models, min_umap_points=8) as client:
        page = settled(client, timeout=240)
    assert page["method"] == "umap" and page["total"] == 8
