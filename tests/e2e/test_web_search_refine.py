"""The search view's refinements in a real browser: what a score is made of, the lens filter, "less like this".

Its own server, library and page (the fixtures of test_web_page.py, imported).
The page's requests are recorded with their bodies, to see what a combined
search asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import Browser, Served, browser, screenshot, served
from tests.e2e.test_web_page import go, result_ids, same_origin_only, search, web_library
from tests.integration.api.conftest import CAPTIONS, PHOTOS, api_models
from tests.integration.conftest import decoder

# fixtures, imported to be shared, not copied
__all__ = ["api_models", "browser", "decoder", "same_origin_only", "served", "web_library"]

pytestmark = pytest.mark.timeout(120)

INDEXED = 8  # the library's photos that index (its truncated file does not)


@pytest.fixture
def posts(browser: Browser) -> Iterator[list[dict[str, Any]]]:
    """The JSON bodies of the combined searches (POST /api/v1/search) the page sends during the test."""
    sent: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if request.method == "POST" and request.url.split("?")[0].endswith("/api/v1/search"):
            sent.append(json.loads(request.post_data))

    browser.page.on("request", record)
    yield sent
    browser.page.remove_listener("request", record)


def wait_for_results(page: Any, count: int) -> None:
    page.wait_for_function(
        f"""() => document.querySelector('#search-note').textContent.includes('best first')
                  && document.querySelectorAll('#results li.tile').length === {count}"""
    )


def test_a_score_shows_its_parts_and_the_caption_words(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    assert "kite" in CAPTIONS["paris"] and "beach" in CAPTIONS["paris"]
    search(page, "red kite above a beach")
    tile = page.locator(f"#results li.tile[data-id='{served.library.ids['paris']}']")
    tile.hover()
    score = tile.locator(".score")
    assert score.is_visible()
    text = score.inner_text()
    assert text.startswith("score ") and "image match " in text and "caption " in text
    assert "kite" in text and "beach" in text and "red" in text
    assert text in tile.locator(".thumb").get_attribute("title")
    # Uncaptioned photos show the image match alone.
    tokyo = page.locator(f"#results li.tile[data-id='{served.library.ids['tokyo']}'] .score").text_content()
    assert "image match " in tokyo and "caption" not in tokyo
    # Not for the mouse alone: focus shows it too, and the button is described by it.
    page.mouse.move(0, 0)
    tile.locator(".thumb").focus()
    score.wait_for(state="visible")
    page.wait_for_function("s => getComputedStyle(s).opacity === '1'", arg=score.element_handle())
    described = tile.locator(".thumb").get_attribute("aria-describedby")
    assert page.locator(f"[id='{described}']").text_content() == text


def test_the_lens_filter_narrows_the_results(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    lens = PHOTOS["paris"][3]
    assert lens is not None
    expected = {name for name, (_f, _m, _mo, photo_lens, *_rest) in PHOTOS.items() if photo_lens == lens}
    expected |= {"paris_copy"}  # an exact copy, EXIF and all
    search(page, "a photo")
    page.click("#filters summary")
    page.fill("#filters input[name=lens]", lens)
    page.dispatch_event("#filters input[name=lens]", "change")
    page.wait_for_function(f"() => document.querySelectorAll('#results li.tile').length === {len(expected)}")
    assert set(result_ids(page)) == {served.library.ids[name] for name in expected}
    page.click("#clear-filters")
    wait_for_results(page, INDEXED)
    page.click("#filters summary")


def test_less_like_this_leaves_a_photo_out_until_its_chip_is_removed(
    browser: Browser, served: Served, posts: list[dict[str, Any]]
) -> None:
    page = go(browser, served, "search")
    lib = served.library
    search(page, "a photo")
    wait_for_results(page, INDEXED)
    disliked = lib.ids["winter"]
    tile = page.locator(f"#results li.tile[data-id='{disliked}']")
    tile.hover()
    tile.locator(".less").click()
    page.wait_for_selector(f"#examples li.less[data-id='{disliked}']")
    wait_for_results(page, INDEXED - 1)
    assert disliked not in result_ids(page)
    assert posts, "no combined search was sent"
    body = posts[-1]
    assert body["negative"] == [{"photo_id": disliked}]
    assert body["positive"] == [{"text": "a photo"}]

    # With a "more like this" photo too: both kinds of example go into one combined search.
    liked = lib.ids["paris"]
    tile = page.locator(f"#results li.tile[data-id='{liked}']")
    tile.hover()
    tile.locator(".more").click()
    page.wait_for_selector(f"#examples li.more[data-id='{liked}']")
    wait_for_results(page, INDEXED - 2)  # neither example is a result
    body = posts[-1]
    assert body["positive"] == [{"photo_id": liked}] and body["negative"] == [{"photo_id": disliked}]
    assert page.input_value("#q") == ""  # "more like this" searches by the photo instead of the text
    page.hover("#results li.tile >> nth=0")
    screenshot(browser, "search-refine")

    # Removing the chips by keyboard: the disliked photo comes back.
    before = len(posts)
    page.focus(f"#examples li[data-id='{disliked}'] button")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#examples li[data-id='{disliked}']", state="detached")
    wait_for_results(page, INDEXED - 1)  # like paris: every photo but paris
    assert disliked in result_ids(page)
    focused = page.evaluate("() => document.activeElement.closest('#examples li')?.dataset.id")
    assert focused == liked  # the keyboard stays among the chips
    page.keyboard.press("Enter")
    page.wait_for_selector("#examples", state="hidden")
    page.wait_for_function("() => document.querySelector('#search-note').textContent.startsWith('Type to search')")
    assert len(posts) == before  # one "more like" photo alone is the photo's similar search, as before


def test_less_like_this_refines_a_search_by_image(
    browser: Browser, served: Served, posts: list[dict[str, Any]]
) -> None:
    page = go(browser, served, "search")
    lib = served.library
    page.set_input_files("#pick", lib.paths["newyork"])
    page.wait_for_selector("#query-image:not([hidden])")
    wait_for_results(page, INDEXED)
    disliked = lib.ids["newyork_small"]
    tile = page.locator(f"#results li.tile[data-id='{disliked}']")
    tile.hover()
    tile.locator(".less").click()
    wait_for_results(page, INDEXED - 1)
    assert disliked not in result_ids(page)
    body = posts[-1]
    (term,) = body["positive"]
    assert set(term) == {"upload_id"} and len(term["upload_id"]) == 32  # the image, as the API's upload
    assert body["negative"] == [{"photo_id": disliked}]
    assert page.is_visible("#query-image")
    page.click("#clear-image")
    page.wait_for_selector("#examples", state="hidden")
