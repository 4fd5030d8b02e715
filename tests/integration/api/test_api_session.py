"""The web page's sign-in over HTTP: the key given once to ``/api/v1/session`` becomes an HttpOnly cookie
that the API accepts as it accepts the key in a header; the page's own files load without either."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from photoindex.indexer.models.worker import ModelWorker
from photoindex.query_api.security import GuardPolicy
from tests.integration.api.conftest import BASE_URL, Library, client_for, settings_for

Client = TestClient[Any]
KEY = "s3cret-" + "k" * 36
PORT = 8765  # BASE_URL's, the settings' default
COOKIE = f"photoindex_session_{PORT}"
SESSION = "/api/v1/session"
OWN_ORIGIN = {"Origin": BASE_URL}


@pytest.fixture
def keyed(library: Library, api_models: ModelWorker) -> Iterator[Client]:
    with client_for(library, api_models, settings=settings_for(library, api_key=KEY)) as test_client:
        yield test_client


def set_cookie_headers(response: Any) -> list[str]:
    return response.headers.get_list("set-cookie")


def sign_in(client: Client, key: str = KEY) -> Any:
    return client.post(SESSION, json={"key": key}, headers=OWN_ORIGIN)


def test_the_right_key_sets_a_strict_http_only_cookie(keyed: Client) -> None:
    response = sign_in(keyed)
    assert response.status_code == 204, response.text
    [cookie] = set_cookie_headers(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith(f"{COOKIE}=")
    assert KEY not in cookie  # a token derived from the key, not the key
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain http on loopback: a Secure cookie would never come back


def test_the_cookie_opens_the_data_routes(keyed: Client, library: Library) -> None:
    assert keyed.get("/api/v1/status").status_code == 401
    assert sign_in(keyed).status_code == 204
    assert keyed.cookies.get(COOKIE)
    assert keyed.get("/api/v1/status").status_code == 200
    assert keyed.get("/api/v1/search/text", params={"q": "kite"}).json()["hits"]
    thumbnail = keyed.get(f"/api/v1/photos/{library.ids['paris']}/thumbnail")  # what <img src> asks for
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"].startswith("image/")
    write = keyed.post("/api/v1/search", json={"positive": [{"text": "x"}]}, headers=OWN_ORIGIN)
    assert write.status_code == 200


def test_the_header_is_still_accepted_without_a_cookie(keyed: Client) -> None:
    assert keyed.get("/api/v1/status", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert keyed.get("/api/v1/status", headers={"X-API-Key": KEY}).status_code == 200
    assert not keyed.cookies


def test_a_wrong_key_is_refused_with_its_code_and_sets_nothing(keyed: Client) -> None:
    for wrong in ("wrong", KEY[:-1], KEY + "x"):
        response = sign_in(keyed, wrong)
        assert response.status_code == 401, wrong
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "ERR_UNAUTHORIZED"
        assert set_cookie_headers(response) == []
    assert not keyed.cookies
    assert keyed.get("/api/v1/status").status_code == 401


def test_a_bad_body_is_a_bad_request(keyed: Client) -> None:
    for body in ({}, {"key": ""}, {"key": 5}, {"key": KEY, "extra": 1}):
        response = keyed.post(SESSION, json=body, headers=OWN_ORIGIN)
        assert response.status_code == 400, body
        assert response.json()["code"] == "ERR_BAD_REQUEST" and set_cookie_headers(response) == []


def test_a_forged_or_raw_key_cookie_is_refused(keyed: Client) -> None:
    for value in (KEY, "0" * 64):  # the key itself is not the token; nor is any guess
        response = keyed.get("/api/v1/status", headers={"Cookie": f"{COOKIE}={value}"})
        assert response.status_code == 401 and response.json()["detail"] == "the API key is wrong"
    other_port = keyed.post(SESSION, json={"key": KEY}).headers["set-cookie"].split(";")[0].split("=", 1)[1]
    keyed.cookies.clear()
    # The right token under another daemon's cookie name does not open this one.
    assert keyed.get("/api/v1/status", headers={"Cookie": f"photoindex_session_9999={other_port}"}).status_code == 401


def test_the_key_in_the_query_string_is_not_accepted(keyed: Client) -> None:
    for name in ("api_key", "key", "token", "access_token"):
        assert keyed.get("/api/v1/status", params={name: KEY}).status_code == 401, name


def test_signing_out_clears_the_cookie(keyed: Client) -> None:
    assert sign_in(keyed).status_code == 204
    assert keyed.get("/api/v1/status").status_code == 200
    response = keyed.delete(SESSION, headers=OWN_ORIGIN)
    assert response.status_code == 204
    [cookie] = set_cookie_headers(response)
    assert re.match(rf"{COOKIE}=(\"\")?;", cookie) and re.search(r"max-age=0", cookie, re.IGNORECASE)
    assert COOKIE not in keyed.cookies
    assert keyed.get("/api/v1/status").status_code == 401


@pytest.mark.parametrize("origin", ["http://localhost:3000", "https://evil.example", "null"])
def test_another_origin_can_neither_sign_in_nor_out(keyed: Client, origin: str) -> None:
    response = keyed.post(SESSION, json={"key": KEY}, headers={"Origin": origin})
    assert response.status_code == 403 and response.json()["code"] == "ERR_ORIGIN_NOT_ALLOWED"
    assert set_cookie_headers(response) == [] and not keyed.cookies
    assert sign_in(keyed).status_code == 204
    logout = keyed.delete(SESSION, headers={"Origin": origin})
    assert logout.status_code == 403 and set_cookie_headers(logout) == []
    assert keyed.get("/api/v1/status").status_code == 200  # still signed in


def test_the_page_loads_without_a_key_and_the_data_routes_do_not(keyed: Client, library: Library) -> None:
    page = keyed.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    static = re.findall(r'(?:src|href)="(/static/[^"]+|/api/v1/schema/assets/favicon\.svg)"', page.text)
    assert len(static) >= 3  # the stylesheet, the module, the icon
    for path in static:
        assert keyed.get(path).status_code == 200, path
    data_routes = [
        "/api/v1/status",
        "/api/v1/search/text?q=x",
        "/api/v1/photos",
        f"/api/v1/photos/{library.ids['paris']}/thumbnail",
        f"/api/v1/photos/{library.ids['paris']}/original",
        "/api/v1/folders",
        "/api/v1/schema/openapi.json",
    ]
    for route in data_routes:
        response = keyed.get(route)
        assert response.status_code == 401, route
        assert response.json()["code"] == "ERR_UNAUTHORIZED"


def test_an_open_prefix_does_not_open_what_dot_segments_lead_to() -> None:
    policy = GuardPolicy(frozenset(), frozenset(), KEY, frozenset({"/"}), frozenset({"/static/"}), COOKIE)
    assert policy.is_open("/") and policy.is_open("/static/abc/app.js")
    for path in ("/static/abc/../../api/v1/status", "/static/./x", "/api/v1/status", "/staticx", "/static"):
        assert not policy.is_open(path), path


def test_without_a_key_configured_there_is_nothing_to_sign_in_to(client: Client) -> None:
    response = client.post(SESSION, json={"key": KEY}, headers=OWN_ORIGIN)
    assert response.status_code == 409 and response.json()["code"] == "ERR_CONFLICT"
    assert set_cookie_headers(response) == []
    assert client.delete(SESSION).status_code == 204
