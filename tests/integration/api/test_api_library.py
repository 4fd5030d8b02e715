"""Health, readiness, collections, status (with and without a daemon), failures, capabilities."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.testing import TestClient

from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import Library, client_for

Client = TestClient[Any]


class FakeDaemonStatus(msgspec.Struct):
    """Shaped like the daemon's status record, as far as the API reads it."""

    state: str
    health: str
    problems: list[dict[str, str]]
    since_start: dict[str, int]
    queue: dict[str, int]
    failures_by_code: dict[str, int] = msgspec.field(default_factory=dict)


def test_health_and_ready(client: Client) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    ready = client.get("/api/v1/ready")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "store": "ok", "watchers": "none", "models": "loaded"}


def test_ready_follows_the_daemon(library: Library, api_models: ModelWorker) -> None:
    status = FakeDaemonStatus("starting", "ok", [], {}, {"queued": 3}, {"ERR_UNSUPPORTED": 4})
    with client_for(library, api_models, status=lambda: status) as client:
        starting = client.get("/api/v1/ready")
        assert starting.status_code == 503 and starting.json()["ready"] is False
        answer = client.get("/api/v1/status").json()
        assert answer["daemon"]["queue"] == {"queued": 3}
        # The daemon's tally of the failures it wrote, not a read of every failed point.
        assert answer["failures_by_code"] == {"ERR_UNSUPPORTED": 4}
    idle = FakeDaemonStatus("idle", "ok", [], {"indexed": 9}, {})
    with client_for(library, api_models, status=lambda: idle) as client:
        assert client.get("/api/v1/ready").status_code == 200


def test_collections(client: Client, library: Library) -> None:
    (collection,) = client.get("/api/v1/collections").json()["collections"]
    assert collection["name"] == library.store.collection
    assert (collection["photos"], collection["indexed"], collection["failed"]) == (9, 8, 1)
    assert collection["dim"] == 32 and len(collection["samples"]) == 5
    one = client.get(f"/api/v1/collections/{library.store.collection}").json()
    assert one["photos"] == 9 and (one["bytes"] is None or one["bytes"] > 0)
    missing = client.get("/api/v1/collections/other")
    assert missing.status_code == 404 and missing.json()["code"] == "ERR_NOT_FOUND"


def test_status_counts_and_failures_by_code(client: Client) -> None:
    status = client.get("/api/v1/status").json()
    assert status["photos"] == {"indexed": 8, "pending": 0, "failed": 1}
    assert status["failures_by_code"] == {"ERR_TRUNCATED": 1}
    assert status["models"]["embedder"] == "loaded" and status["daemon"] is None


def test_failures_paged_and_filtered(client: Client, library: Library) -> None:
    page = client.get("/api/v1/failures").json()
    assert page["total"] == 1 and page["next_offset"] is None
    (failure,) = page["failures"]
    assert failure["id"] == library.ids["broken"] and failure["code"] == "ERR_TRUNCATED" and failure["message"]
    assert client.get("/api/v1/failures", params={"offset": 1}).json()["failures"] == []
    assert client.get("/api/v1/failures", params={"code": "ERR_DECODE"}).json()["total"] == 0
    assert client.get("/api/v1/failures", params={"code": "drop table"}).status_code == 400


def test_capabilities(client: Client) -> None:
    caps = client.get("/api/v1/capabilities").json()
    assert caps["device"] == "cpu" and caps["batch_size"] > 0
    assert caps["models"]["dim"] == 32 and caps["models"]["random_weights"] is True
    assert caps["duplicate_kinds"] == ["exact", "near", "similar"] and caps["auth"] is False
    assert caps["limits"]["max_limit"] == 200


def test_openapi_is_served_and_browsable(client: Client) -> None:
    schema = client.get("/api/v1/schema/openapi.json").json()
    assert "/api/v1/search/text" in schema["paths"] and "Problem" in schema["components"]["schemas"]
    assert "text/html" in client.get("/api/v1/schema/swagger").headers["content-type"]
