"""The web page's status view (failed files under their code, capabilities) and the timeline's folder tree.

A real server over the API tests' library, driven by the system Chromium. The
library has one truncated file of its own; this module adds more in a folder
of their own, indexed by the real pipeline, so the failed files span pages.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.models.worker import ModelWorker
from tests.e2e.browser import Browser, Served, browser, screenshot, served
from tests.e2e.test_web_page import go, same_origin_only
from tests.integration.api.conftest import Library, api_models, build_library, open_store
from tests.integration.conftest import decoder, make_pipeline

__all__ = ["api_models", "browser", "decoder", "same_origin_only", "served"]  # fixtures, imported to be shared

pytestmark = pytest.mark.timeout(120)

TORN = 24  # with the library's own broken.jpg, 25 failed files: two pages of 20


@pytest.fixture(scope="module")
def web_library(
    tmp_path_factory: pytest.TempPathFactory, decoder: DecodePool, api_models: ModelWorker
) -> Iterator[Library]:
    base = tmp_path_factory.mktemp("web-status")
    store = open_store("edge", base)
    lib = build_library(store, decoder, api_models, base)
    torn = lib.root / "torn"
    torn.mkdir()
    whole = Path(lib.paths["winter"]).read_bytes()
    for n in range(TORN):
        (torn / f"torn{n:02}.jpg").write_bytes(whole[: 1500 + n])  # truncated: each fails with ERR_TRUNCATED

    async def index() -> None:
        pipeline = make_pipeline(store, decoder, api_models, base / "torn-state")
        await pipeline.run(list(iter_files([canonical_root(str(torn))], DiscoveryRules())))

    anyio.run(index)
    yield lib
    store.close()


def timeline_ids(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#timeline li.tile", "tiles => tiles.map(t => t.dataset.id)"))


def wait_for_count(page: Any, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('#timeline-note').textContent === '{count} photos'"
        f" && document.querySelectorAll('#timeline li.tile').length === {count}"
    )


def failed_paths(code: Any) -> list[str]:
    return code.locator(".failure-list tr[data-id] td:first-child").all_inner_texts()


def test_the_status_lists_the_failed_files_under_their_code(browser: Browser, served: Served) -> None:
    page = go(browser, served, "status")
    lib = served.library
    code = page.locator("#status details.failure-code[data-code=ERR_TRUNCATED]")
    code.wait_for()
    assert code.locator("summary").inner_text() == f"ERR_TRUNCATED {TORN + 1} files"
    assert not code.evaluate("d => d.open")  # closed until asked for
    code.locator("summary").click()
    code.locator(".failure-list tr[data-id]").first.wait_for()
    torn = [str(lib.root / "torn" / f"torn{n:02}.jpg") for n in range(TORN)]
    everything = [str(lib.root / "c" / "broken.jpg"), *torn]  # by path
    assert failed_paths(code) == everything[:20]
    cells = code.locator(".failure-list tr[data-id]").first.locator("td").all_inner_texts()
    assert cells[1].startswith("JPEG data is truncated") and cells[2]  # why (the path not repeated), and when
    assert code.locator(".pager").inner_text().split() == ["Previous", "1–20", "of", "25", "Next"]
    code.get_by_role("button", name="Next").click()
    page.wait_for_function("() => document.querySelector('#status .pager .note').textContent === '21–25 of 25'")
    assert failed_paths(code) == everything[20:]
    # The view polls every two seconds: the opened list outlives the updates, on the page it was on.
    page.evaluate("() => { window.keptCode = document.querySelector('#status details.failure-code'); }")
    served.daemon.queued = 9
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('9 queued')")
    assert page.evaluate("() => document.querySelector('#status details.failure-code') === window.keptCode")
    assert code.evaluate("d => d.open") and failed_paths(code) == everything[20:]
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(browser, "status")
    code.get_by_role("button", name="Previous").click()
    page.wait_for_function("() => document.querySelector('#status .pager .note').textContent === '1–20 of 25'")
    assert failed_paths(code) == everything[:20]
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
    assert children.all_inner_texts() == ["a", "b", "c", "torn"]

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
