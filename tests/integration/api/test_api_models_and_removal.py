"""A query waits for a model load (503 + Retry-After only past the bound); removal from the index and to the trash."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.worker import ModelWorker
from photoindex.library import ModelsLoading, QueryEncoder
from tests.fixtures.models import tiny_clip_embedder
from tests.fixtures.trash import trashed_names
from tests.integration.api.conftest import Library, client_for


def test_a_query_waits_for_a_model_load_longer_than_it_used_to_allow(library: Library) -> None:
    release = threading.Event()

    def slow_load() -> Any:
        release.wait(60)
        return tiny_clip_embedder()

    # The load ends 4 s after it starts: longer than the 3 s after which a query used to get a 503.
    models = ModelWorker(slow_load)
    timer = threading.Timer(4.0, release.set)
    try:
        with client_for(library, models) as client:
            timer.start()
            started = time.monotonic()
            response = client.get("/api/v1/search/text", params={"q": "a slow start"})
            assert response.status_code == 200, response.json()
            assert time.monotonic() - started >= 3.5  # it did wait for the load
            assert client.get("/api/v1/ready").json()["models"] == "loaded"
    finally:
        release.set()
        timer.cancel()
        models.close()


def test_a_load_past_the_bound_says_retry_later_and_carries_on() -> None:
    release = threading.Event()

    def slow_load() -> Any:
        release.wait(60)
        return tiny_clip_embedder()

    models = ModelWorker(slow_load)
    encoder = QueryEncoder(models, load_wait_s=0.5, retry_after_s=7)  # the daemon's bound is 60 s

    async def main() -> None:
        with pytest.raises(ModelsLoading) as loading:
            await encoder.texts(["a stuck load"])
        assert loading.value.retry_after_s == 7 and encoder.state() == "loading"
        release.set()
        with anyio.fail_after(30):
            while True:  # what a client does with Retry-After; each attempt joins the load still running
                try:
                    vectors = await encoder.texts(["a stuck load"])
                    break
                except ModelsLoading:
                    continue
        assert vectors.shape[0] == 1 and encoder.state() == "loaded"

    try:
        anyio.run(main)
    finally:
        release.set()
        models.close()


def test_failed_model_is_a_503_without_retry(library: Library) -> None:
    def offline() -> Any:
        raise ModelError("no weights offline", code=ErrorCode.MODEL_UNAVAILABLE)

    models = ModelWorker(offline)
    try:
        with client_for(library, models) as client:
            first = client.get("/api/v1/search/text", params={"q": "x"})
            assert first.status_code == 503 and "offline" in first.json()["detail"]
            second = client.get("/api/v1/search/text", params={"q": "x"})
            assert second.status_code == 503 and "retry-after" not in second.headers
            assert client.get("/api/v1/status").json()["models"]["embedder"] == "failed"
    finally:
        models.close()


def test_remove_from_index_keeps_the_file(own_library: Library, api_models: ModelWorker) -> None:
    with client_for(own_library, api_models) as client:
        ids = [own_library.ids["winter"], "not-an-id", "00000000-0000-5000-8000-000000000000"]
        result = client.post("/api/v1/photos/remove", json={"ids": ids}).json()
        assert [r["removed"] for r in result["results"]] == [True, False, False]
        assert [r["code"] for r in result["results"]] == [None, "ERR_NOT_FOUND", "ERR_NOT_FOUND"]
        assert result["removed"] == 1 and "rescan" in result["note"]
        assert client.get(f"/api/v1/photos/{own_library.ids['winter']}").status_code == 404
    assert Path(own_library.paths["winter"]).exists()


def test_remove_with_trash_moves_the_file_to_the_trash(
    own_library: Library, api_models: ModelWorker, trash_files: Path
) -> None:
    photo = Path(own_library.paths["tokyo"])
    content = photo.read_bytes()
    before = trashed_names(trash_files)
    with client_for(own_library, api_models) as client:
        result = client.post("/api/v1/photos/remove", json={"ids": [own_library.ids["tokyo"]], "trash": True}).json()
    (outcome,) = result["results"]
    assert outcome["removed"] and outcome["trashed"], outcome
    assert not photo.exists()
    (name,) = trashed_names(trash_files) - before  # in the trash, not deleted ("tokyo 2.jpg" if one was there)
    assert name.startswith("tokyo") and (trash_files / name).read_bytes() == content
    assert own_library.store.retrieve([own_library.ids["tokyo"]]) == []


def test_remove_request_bounds(client: Any) -> None:
    assert client.post("/api/v1/photos/remove", json={"ids": []}).status_code == 400
    assert client.post("/api/v1/photos/remove", json={"ids": ["x"] * 1001}).status_code == 400
    assert client.post("/api/v1/photos/remove", json={"ids": ["x"], "shred": True}).status_code == 400
