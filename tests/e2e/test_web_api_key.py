"""The web page on a server that wants an API key: it asks once, says so when the key is wrong, and a
reload does not ask again (the browser keeps the session cookie).

A real server with ``api.api_key`` set, Debian's Chromium through Playwright;
the tests run in file order on one page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoindex.indexer.models.worker import ModelWorker
from tests.e2e.browser import Browser, FakeDaemon, Served, browser, web_library
from tests.integration.api.conftest import SPEC, Library, api_app, api_models, settings_for
from tests.integration.api.live import loopback_socket, serving
from tests.integration.conftest import decoder

__all__ = ["api_models", "browser", "decoder", "web_library"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(120)
KEY = "web-page-key-" + "x" * 30


@pytest.fixture(scope="module")
def served(web_library: Library, api_models: ModelWorker) -> Iterator[Served]:
    """The real app with an API key, served over real HTTP on a loopback port."""
    sock = loopback_socket()
    port = sock.getsockname()[1]
    daemon = FakeDaemon(str(web_library.root), web_library.store)
    app = api_app(
        settings_for(web_library, port=port, api_key=KEY),
        store=web_library.store,
        models=api_models,
        spec=SPEC,
        config_file=web_library.data_dir / "config.toml",
        projection_warm_up=False,
        status=daemon,
    )
    with serving(app, sock) as url:
        yield Served(url, web_library, daemon, Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files")


@pytest.fixture(scope="module")
def policy_violations(browser: Browser) -> list[str]:
    """Console messages about the Content-Security-Policy: the dialog is built without inline script or style."""
    found: list[str] = []
    browser.page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def search(page: Any, text: str) -> None:
    page.fill("#q", text)
    page.press("#q", "Enter")


def wait_for_results(page: Any) -> None:
    page.wait_for_function("() => /best first/.test(document.querySelector('#search-note').textContent)")
    page.wait_for_selector("#results li.tile img")


def test_the_page_loads_without_the_key_and_asks_for_it_on_the_first_search(
    browser: Browser, served: Served, policy_violations: list[str]
) -> None:
    page = browser.page
    response = page.goto(served.url + "/")
    assert response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert page.query_selector("#signin") is None  # nothing asked before the API does
    search(page, "red kite")
    dialog = page.wait_for_selector("dialog#signin[open]")
    assert dialog.get_attribute("aria-labelledby") == "signin-title"
    field = page.get_by_label("API key", exact=True)
    assert field.get_attribute("type") == "password"
    assert page.evaluate("() => document.activeElement.id") == "signin-key"
    assert page.query_selector_all("#results li.tile") == []


def test_a_wrong_key_shows_the_error_and_keeps_asking(browser: Browser, served: Served) -> None:
    page = browser.page
    page.fill("#signin-key", "not-the-key")
    page.press("#signin-key", "Enter")
    error = page.wait_for_selector("#signin-error:not([hidden])")
    assert "wrong" in error.text_content()
    assert error.get_attribute("role") == "alert"
    assert page.get_attribute("#signin-key", "aria-invalid") == "true"
    assert page.is_visible("dialog#signin[open]")
    assert page.context.cookies() == []


def test_the_right_key_signs_in_and_the_search_goes_on(browser: Browser, served: Served) -> None:
    page = browser.page
    page.fill("#signin-key", KEY)
    page.press("#signin-key", "Enter")
    page.wait_for_selector("dialog#signin", state="hidden")
    wait_for_results(page)  # the refused search was sent again, without typing it again
    page.wait_for_function(  # thumbnails are <img src>: they load by the cookie alone
        "() => [...document.querySelectorAll('#results li.tile img')].some(i => i.complete && i.naturalWidth > 0)"
    )
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["secure"] is False
    assert KEY not in cookie["value"]
    assert page.evaluate("() => document.cookie") == ""  # scripts cannot read it


def test_a_reload_does_not_ask_again(browser: Browser, served: Served, policy_violations: list[str]) -> None:
    page = browser.page
    page.reload()
    page.wait_for_selector("#view-search:not([hidden])")
    search(page, "snow covered mountain")
    wait_for_results(page)
    assert page.query_selector("#signin") is None  # the dialog was never even built
    page.goto(served.url + "/#status")  # another view's data, by the same cookie
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('indexing')")
    assert page.query_selector("#signin") is None
    assert policy_violations == []
