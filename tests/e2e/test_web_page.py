"""The web page in a real browser: search, filters, image search, photo view, timeline, duplicates, folders, status.

One server and one Chromium page for the module (the tests run in file order
and share the page's state; the duplicates test trashes a file, so it comes
after the searches that expect it). Every request the page makes is recorded,
and one that leaves the daemon's origin fails the test that caused it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import Browser, Served, browser, screenshot, served, web_library
from tests.fixtures.images import make_jpeg
from tests.fixtures.trash import trashed_names
from tests.integration.api.conftest import api_models
from tests.integration.conftest import decoder

__all__ = ["api_models", "browser", "decoder", "served", "web_library"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def same_origin_only(browser: Browser, served: Served) -> Iterator[None]:
    start = len(browser.requests)
    yield
    foreign = [u for u in browser.requests[start:] if not u.startswith(served.url + "/") and not u.startswith("blob:")]
    assert foreign == [], f"the page requested outside its origin: {foreign}"


def go(browser: Browser, served: Served, view: str) -> Any:
    page = browser.page
    page.goto(f"{served.url}/#{view}")
    page.wait_for_selector(f"#view-{view}:not([hidden])")
    return page


def search(page: Any, text: str) -> None:
    """Type ``text`` and press Enter (no debounce wait), then wait for that search's results."""
    page.fill("#q", text)
    page.press("#q", "Enter")
    page.wait_for_function("() => /best first|No photos/.test(document.querySelector('#search-note').textContent)")


def result_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("#results li.tile", "tiles => tiles.map(t => t.dataset.id)")


def test_the_page_is_served_with_a_strict_policy(browser: Browser, served: Served) -> None:
    response = browser.page.goto(served.url + "/")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    inline = browser.page.eval_on_selector_all("script:not([src])", "scripts => scripts.length")
    assert inline == 0
    module = browser.page.eval_on_selector("script[type=module]", "s => s.src")
    assert module.startswith(served.url + "/static/")


def test_typing_a_query_shows_thumbnails_with_scores(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    page.fill("#q", "a photo of a city")
    page.wait_for_selector("#results li.tile img")
    ids = result_ids(page)
    assert set(ids) <= set(served.library.ids.values()) and len(ids) == len(served.library.ids) - 1  # not the failed
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth)"
    )
    page.hover("#results li.tile >> nth=0")
    score = page.locator("#results li.tile >> nth=0").locator(".score")
    assert score.is_visible() and score.inner_text().startswith("score ")
    screenshot(browser, "search")


def test_filters_narrow_the_results(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    search(page, "a photo")
    page.click("#filters summary")
    page.select_option("#filters select[name=format]", "PNG")
    page.wait_for_function("() => document.querySelectorAll('#results li.tile').length === 1")
    assert result_ids(page) == [served.library.ids["plain"]]
    page.select_option("#filters select[name=format]", "")
    page.fill("#filters input[name=folder]", str(served.library.root / "a"))
    page.dispatch_event("#filters input[name=folder]", "change")
    page.wait_for_function("() => document.querySelectorAll('#results li.tile').length === 2")
    assert set(result_ids(page)) == {served.library.ids["paris"], served.library.ids["winter"]}
    page.click("#clear-filters")
    page.click("#filters summary")


def test_a_picked_or_dropped_image_finds_its_copies(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    lib = served.library
    page.set_input_files("#pick", lib.paths["paris"])
    page.wait_for_selector("#query-image:not([hidden])")
    page.wait_for_function("() => document.querySelector('#search-note').textContent.includes('best first')")
    assert set(result_ids(page)[:2]) == {lib.ids["paris"], lib.ids["paris_copy"]}  # identical pixels rank first

    data = base64.b64encode(Path(lib.paths["london"]).read_bytes()).decode()
    transfer = page.evaluate_handle(
        """data => { const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
                     const dt = new DataTransfer();
                     dt.items.add(new File([bytes], 'dropped.jpg', {type: 'image/jpeg'})); return dt; }""",
        data,
    )
    assert page.is_hidden("#drop-zone")
    page.dispatch_event("body", "dragover", {"dataTransfer": transfer})
    assert page.is_visible("#drop-zone")
    page.dispatch_event("body", "drop", {"dataTransfer": transfer})
    page.wait_for_function("() => document.querySelector('#query-image span').textContent.includes('dropped.jpg')")
    page.wait_for_function(f"() => document.querySelector('#results li.tile')?.dataset.id === '{lib.ids['london']}'")
    assert page.is_hidden("#drop-zone")


def test_more_like_this_searches_by_a_result(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    search(page, "a photo")
    first = page.locator("#results li.tile >> nth=0")
    chosen = first.get_attribute("data-id")
    first.hover()
    first.locator(".more").click()
    page.wait_for_function("() => document.querySelector('#search-note').textContent.includes('best first')")
    ids = result_ids(page)
    assert chosen not in ids and len(ids) == len(served.library.ids) - 2  # neither itself nor the failed file


def test_a_photo_opens_large_and_steps_with_the_arrow_keys(browser: Browser, served: Served) -> None:
    page = go(browser, served, "search")
    search(page, "a photo")
    ids = result_ids(page)
    page.click("#results li.tile >> nth=0 >> .thumb")
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function(f"() => document.querySelector('#viewer').dataset.id === '{ids[0]}'")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.querySelector('#viewer').dataset.id === '{ids[1]}'")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('#viewer').dataset.id === '{ids[0]}'")
    # Step to the Canon photo in Paris: every piece of metadata shows.
    paris = ids.index(served.library.ids["paris"])
    for _ in range(paris):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#viewer-title').textContent === 'paris.jpg'")
    page.wait_for_function("() => document.querySelector('#viewer-img').complete")
    meta = page.inner_text("#viewer-meta")
    for expected in ("Canon EOS R5", "RF24-70mm", "640 × 480", "48.85660", served.library.paths["paris"]):
        assert expected in meta
    assert page.get_attribute("#viewer-original", "href") == f"/api/v1/photos/{served.library.ids['paris']}/original"
    page.wait_for_selector("#viewer-similar li.tile")
    screenshot(browser, "photo")
    page.keyboard.press("Escape")
    page.wait_for_selector("#viewer:not([open])", state="attached")


def test_the_timeline_groups_photos_by_month(browser: Browser, served: Served) -> None:
    page = go(browser, served, "timeline")
    page.wait_for_function("() => document.querySelectorAll('#timeline li.tile').length >= 8")
    months = page.eval_on_selector_all("#timeline h2.month", "hs => hs.map(h => h.textContent)")
    exif_months = [m for m in months if m in ("July 2023", "March 2023", "January 2022", "June 2021", "November 2020")]
    assert exif_months == ["July 2023", "March 2023", "January 2022", "June 2021", "November 2020"]
    screenshot(browser, "timeline")
    page.select_option("#timeline-form select[name=order]", "asc")
    page.wait_for_function("() => document.querySelector('#timeline h2.month')?.textContent === 'November 2020'")
    page.fill("#timeline-form input[name=taken_from]", "2023-01-01")
    page.fill("#timeline-form input[name=taken_to]", "2023-12-31")
    page.wait_for_function("() => document.querySelector('#timeline-note').textContent === '3 photos'")
    months = page.eval_on_selector_all("#timeline h2.month", "hs => hs.map(h => h.textContent)")
    assert months == ["March 2023", "July 2023"]


def test_a_duplicate_goes_to_the_trash_after_confirming(browser: Browser, served: Served) -> None:
    page = go(browser, served, "duplicates")
    lib = served.library
    page.wait_for_selector("#groups article.group")
    group = page.locator("#groups article.group")
    assert group.count() == 1
    keeper = group.get_attribute("data-keeper")
    copies = {lib.ids["paris"], lib.ids["paris_copy"]}
    assert keeper in copies
    assert "Keeper" in group.locator(".member.keeper").inner_text()
    (extra,) = copies - {keeper}
    screenshot(browser, "duplicates")
    page.check(f"#groups input[value='{extra}']")
    before = trashed_names(served.trash_files)
    page.click("#trash-selected")
    page.wait_for_selector("#confirm[open]")
    page.click("#confirm-ok")
    page.wait_for_function("() => document.querySelector('#dup-note').textContent.includes('Moved 1 to the trash')")
    assert page.locator("#groups article.group").count() == 0
    assert lib.store.retrieve([extra]) == []
    path = Path(lib.paths["paris" if extra == lib.ids["paris"] else "paris_copy"])
    assert trashed_names(served.trash_files) - before == {path.name} and not path.exists()
    page.check("#view-duplicates input[name=kind][value=near]")
    page.wait_for_selector("#groups article.group")
    assert page.locator("#groups article.group").get_attribute("data-keeper") == lib.ids["newyork"]


def test_a_folder_is_added_and_removed_keeping_its_photos(browser: Browser, served: Served) -> None:
    page = go(browser, served, "folders")
    root = str(served.library.root)
    page.wait_for_selector(f"#folders li[data-path='{root}']")
    more = served.library.root.parent / "more"
    more.mkdir()
    make_jpeg(more / "one.jpg", seed=42)
    page.fill("#folder-path", str(more))
    page.click("#folder-form button[type=submit]")
    page.wait_for_selector(f"#folders li[data-path='{more}']")
    screenshot(browser, "folders")
    page.click(f"#folders li[data-path='{more}'] button")
    page.wait_for_selector("#unwatch[open]")
    assert page.is_checked("#unwatch input[name=purge][value=false]")  # keeping the photos is the default
    page.click("#unwatch-ok")
    page.wait_for_selector(f"#folders li[data-path='{more}']", state="detached")
    assert "stay searchable" in page.inner_text("#folder-note")
    assert (more / "one.jpg").exists()


def test_the_status_updates_while_open(browser: Browser, served: Served) -> None:
    page = go(browser, served, "status")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('3 queued')")
    text = page.inner_text("#status")
    assert "indexing, ok" in text and "ERR_TRUNCATED" in text and "2.5 files/s" in text
    screenshot(browser, "status")
    served.daemon.queued = 7
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('7 queued')")
