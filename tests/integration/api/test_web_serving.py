"""The web page as the server sends it: a strict policy, content-named static files, nothing from elsewhere."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

STATIC = Path(str(files("photoindex.query_api").joinpath("webpage", "static")))


def test_the_page_has_a_strict_policy_and_no_inline_script(client: TestClient[Any]) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"):
        assert directive in policy
    assert "unsafe" not in policy and "http" not in policy
    scripts = re.findall(r"<script[^>]*>", response.text)
    assert scripts and all(' src="/static/' in s for s in scripts)  # no inline script: the policy holds
    assert "{{" not in response.text


def test_static_files_are_named_by_content_and_cached_for_long(client: TestClient[Any]) -> None:
    page = client.get("/").text
    (module,) = re.findall(r'src="(/static/[0-9a-f]{12}/app\.js)"', page)
    response = client.get(module)
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert "immutable" in response.headers["cache-control"]
    assert client.get(module.replace("/app.js", "/nothing.js")).status_code == 404
    paths = client.get("/api/v1/schema/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
    assert "/api/v1/photos" in paths  # the timeline's listing is part of the API


def test_no_static_file_names_another_origin() -> None:
    sources = {p.name: p.read_text(encoding="utf-8") for p in STATIC.iterdir()}
    assert {"app.js", "style.css"} <= set(sources)
    for name, text in sources.items():
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text), name
    total = sum(p.stat().st_size for p in STATIC.iterdir()) + (STATIC.parent / "index.html").stat().st_size
    assert total < 150_000  # the first load, uncompressed, stays small
