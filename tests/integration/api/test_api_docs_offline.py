"""No page the daemon serves makes the browser fetch from another host: the API docs work offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.api.conftest import BASE_URL

Client = TestClient[Any]
# url(...) in a stylesheet or a style attribute, quoted or not.
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)""")
# A script building an element whose src is a fixed remote address (Redoc's logo did).
SCRIPT_REMOTE_SRC = re.compile(r"""\bsrc\s*:\s*["']https?://[^"']*["']""")


class References(HTMLParser):
    """Every src, href and CSS url(...) in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href", "srcset", "poster", "data", "action"):
                self.found += [part.split()[0] for part in value.split(",")] if name == "srcset" else [value]
            if value and name == "style":
                self.found += CSS_URL.findall(value)
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += CSS_URL.findall(data)


def html_pages(app: Litestar) -> list[str]:
    """The path of every GET route without path parameters (HTML or not: the caller asks)."""
    paths = []
    for route in app.routes:
        methods = getattr(route, "methods", set())
        if "GET" in methods and "{" not in route.path:
            paths.append(route.path)
    return sorted(set(paths))


def assert_local(reference: str, page: str) -> str | None:
    """The same-origin URL of ``reference`` (None for an inline data: URI); fails for another host."""
    if reference.startswith("data:") or reference.startswith("#"):
        return None
    url = urljoin(page, reference)
    parts, ours = urlsplit(url), urlsplit(BASE_URL)
    assert (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc), f"{page} refers to {reference}"
    return url


def test_no_page_refers_to_another_host_and_every_asset_loads(client: Client) -> None:
    pages = {}
    for path in html_pages(client.app):
        response = client.get(path)
        if response.status_code == 200 and response.headers.get("content-type", "").startswith("text/html"):
            pages[path] = response.text
    assert {"/api/v1/schema/swagger", "/api/v1/schema/redoc"} <= set(pages), sorted(pages)

    assets: set[str] = set()
    for path, text in pages.items():
        parser = References()
        parser.feed(text)
        assert parser.found or path.endswith("oauth2-redirect.html"), f"{path} refers to nothing: not parsed?"
        assets |= {url for ref in parser.found if (url := assert_local(ref, BASE_URL + path)) is not None}
    assert any(url.endswith(".js") for url in assets) and any(url.endswith(".css") for url in assets)

    for url in sorted(assets):
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".css"):
            for ref in CSS_URL.findall(response.text):
                inner = assert_local(ref, url)
                assert inner is None or client.get(inner).status_code == 200, (url, ref)
        if url.endswith(".js"):
            assert SCRIPT_REMOTE_SRC.findall(response.text) == [], url


def test_docs_assets_are_cached_and_confined_to_their_folder(client: Client) -> None:
    response = client.get("/api/v1/schema/assets/favicon.svg")
    assert response.status_code == 200 and "max-age" in response.headers.get("cache-control", "")
    assert client.get("/api/v1/schema/assets/%2e%2e/docs.py").status_code == 404
