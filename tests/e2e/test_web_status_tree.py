"""The web page's status view (failed files under their code, capabilities) and the timeline's folder tree.

A real server over the API tests' library (one file in it is truncated, so it
fails with ``ERR_TRUNCATED`` and the failures route lists it), driven by the
system Chromium.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.e2e.browser import Browser, Served, browser, screenshot, served
from tests.e2e.test_web_page import go, same_origin_only, web_library
from tests.integration.api.conftest import api_models
from tests.integration.conftest import decoder

__all__ = ["api_models", "browser", "decoder", "same_origin_only", "served", "web_library"]  # shared fixtures

pytestmark = pytest.mark.timeout(120)


def timeline_ids(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#timeline li.tile", "tiles => tiles.map(t => t.dataset.id)"))


def wait_for_count(page: Any, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('#timeline-note').textContent === '{count} photos'"
        f" && document.querySelectorAll('#timeline li.tile').length === {count}"
    )


def test_the_status_lists_the_failed_files_under_their_code(browser: Browser, served: Served) -> None:
    page = go(browser, served, "status")
    code = page.locator("#status details.failure-code[data-code=ERR_TRUNCATED]")
    code.wait_for()
    assert code.locator("summary").inner_text() == "ERR_TRUNCATED 1 file"
    assert not code.evaluate("d => d.open")  # closed until asked for
    code.locator("summary").click()
    broken = str(served.library.root / "c" / "broken.jpg")
    row = code.locator(".failure-list tr[data-id]")
    row.wait_for()
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == broken and cells[1] and cells[2]  # the path, why it failed, when
    # The view polls every two seconds: the opened list outlives the updates, its element kept and still open.
    page.evaluate("() => { window.keptCode = document.querySelector('#status details.failure-code'); }")
    served.daemon.queued = 9
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('9 queued')")
    assert page.evaluate("() => document.querySelector('#status details.failure-code') === window.keptCode")
    assert code.evaluate("d => d.open") and row.locator("td").first.inner_text() == broken
    screenshot(browser, "status")
    code.locator("summary").click()
    assert not code.evaluate("d => d.open")


def test_the_status_shows_the_capabilities(browser: Browser, served: Served) -> None:
    page = go(browser, served, "status")
    with urllib.request.urlopen(f"{served.url}/api/v1/capabilities") as response:
        caps = json.load(response)
    box = page.locator("#status section[aria-label=Capabilities] dl")
    page.wait_for_function(
        "() => document.querySelector('#status section[aria-label=Capabilities] dl')"
        "?.textContent.includes('Batch size')"
    )
    shown = dict(zip(box.locator("dt").all_inner_texts(), box.locator("dd").all_inner_texts(), strict=True))
    assert shown["Device"] == caps["device"]
    assert shown["CLIP model"].startswith(caps["models"]["model_id"]) and "random weights" in shown["CLIP model"]
    assert shown["Captioner"] == "off" and shown["Backend"] == "embedded store"
    assert shown["Batch size"] == str(caps["batch_size"])


def test_the_folder_tree_lists_the_photos_under_a_chosen_folder(browser: Browser, served: Served) -> None:
    page = go(browser, served, "timeline")
    lib = served.library
    root = str(lib.root)
    wait_for_count(page, len(lib.ids) - 1)  # every photo but the failed one
    toggle = page.locator(f"#folder-tree li[data-path='{root}'] > button.folder-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.focus()
    page.keyboard.press("Enter")  # keyboard usable: the toggle is a button
    children = page.locator(f"#folder-tree li[data-path='{root}'] > ul > li > button.folder-name")
    children.first.wait_for()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert children.all_inner_texts() == ["a", "b", "c"]

    b = str(lib.root / "b")
    page.click(f"#folder-tree li[data-path='{b}'] > button.folder-toggle")
    sub = page.locator(f"#folder-tree button.folder-name[data-path='{lib.root / 'b' / 'sub'}']")
    sub.focus()
    page.keyboard.press("Enter")
    wait_for_count(page, 1)
    assert timeline_ids(page) == {lib.ids["plain"]}
    assert sub.get_attribute("aria-pressed") == "true"
    assert page.input_value("#timeline-form input[name=folder]") == str(lib.root / "b" / "sub")
    screenshot(browser, "folder-tree")

    page.click(f"#folder-tree button.folder-name[data-path='{b}']")
    wait_for_count(page, 3)
    assert timeline_ids(page) == {lib.ids["newyork"], lib.ids["london"], lib.ids["plain"]}  # sub-folders too
    assert sub.get_attribute("aria-pressed") == "false"

    page.click("#folder-tree button.folder-name[data-path='']")
    wait_for_count(page, len(lib.ids) - 1)
