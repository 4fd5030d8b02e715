"""The security rules over HTTP: foreign Host headers, API keys, cross-origin writes, the bind policy."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from photoindex.errors import ConfigError
from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import SPEC, Library, api_app, client_for, settings_for

Client = TestClient[Any]
KEY = "k" * 43


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_dns_rebinding_hosts_are_refused(client: Client, host: str) -> None:
    for path in ("/api/v1/health", "/api/v1/status", "/api/v1/search/text?q=x"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (host, path)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "ERR_HOST_NOT_ALLOWED"


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST"])
def test_loopback_hosts_are_answered(client: Client, host: str) -> None:
    assert client.get("/api/v1/health", headers={"Host": host}).status_code == 200


def test_forwarded_host_is_not_trusted(client: Client) -> None:
    response = client.get("/api/v1/health", headers={"Host": "evil.example", "X-Forwarded-Host": "127.0.0.1"})
    assert response.status_code == 400


def test_cross_origin_writes_are_refused(client: Client, library: Library) -> None:
    body = {"positive": [{"text": "x"}]}
    evil = client.post("/api/v1/search", json=body, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["code"] == "ERR_ORIGIN_NOT_ALLOWED"
    same = client.post("/api/v1/search", json=body, headers={"Origin": "http://127.0.0.1:8765"})
    assert same.status_code == 200


@pytest.fixture
def keyed(library: Library, api_models: ModelWorker) -> Any:
    with client_for(library, api_models, settings=settings_for(library, api_key=KEY)) as test_client:
        yield test_client


def test_every_route_but_health_needs_the_key(keyed: Client, library: Library) -> None:
    assert keyed.get("/api/v1/health").status_code == 200
    routes = [
        "/api/v1/ready",
        "/api/v1/status",
        "/api/v1/search/text?q=x",
        "/api/v1/schema/openapi.json",
        f"/api/v1/photos/{library.ids['paris']}/original",
        "/api/v1/fs/browse",
        "/api/v1/duplicates",
    ]
    for route in routes:
        missing = keyed.get(route)
        assert missing.status_code == 401, route
        assert missing.json()["code"] == "ERR_UNAUTHORIZED" and "Bearer" in missing.headers["www-authenticate"]
        assert keyed.get(route, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert keyed.post("/api/v1/photos/remove", json={"ids": [library.ids["paris"]]}).status_code == 401
    assert library.store.retrieve([library.ids["paris"]])  # nothing happened
    assert keyed.get("/api/v1/status", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert keyed.get("/api/v1/status", headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/api/v1/capabilities", headers={"X-API-Key": KEY}).json()["auth"] is True


def test_non_loopback_bind_without_key_is_refused(library: Library, api_models: ModelWorker) -> None:
    with pytest.raises(ConfigError):
        api_app(settings_for(library, host="0.0.0.0"), store=library.store, models=api_models, spec=SPEC)
    app = api_app(
        settings_for(library, host="0.0.0.0", api_key=KEY, allowed_hosts=("nas.local",)),
        store=library.store,
        models=api_models,
        spec=SPEC,
        projection_warm_up=False,
    )
    with TestClient(app, base_url="http://nas.local:8765") as remote:
        assert remote.get("/api/v1/status", headers={"X-API-Key": KEY}).status_code == 200
        assert remote.get("/api/v1/status", headers={"X-API-Key": KEY, "Host": "other.local"}).status_code == 400
