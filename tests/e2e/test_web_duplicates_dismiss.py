"""'Not duplicates' in a real browser: the group leaves the page, and a reload does not bring it back.

A library and server of its own: the dismissal is written to that library's state dir.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import Browser, Served, browser, served, web_library
from tests.integration.api.conftest import api_models
from tests.integration.conftest import decoder

__all__ = ["api_models", "browser", "decoder", "served", "web_library"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(120)


def open_duplicates(browser: Browser, served: Served) -> Any:
    """The duplicates view freshly loaded (nothing kept from the page before), showing exact copies."""
    page = browser.page
    page.goto(f"{served.url}/#duplicates")
    page.reload()
    page.wait_for_selector("#view-duplicates:not([hidden])")
    assert page.is_checked("#view-duplicates input[name=kind][value=exact]")
    page.wait_for_function("() => /group|No duplicates/.test(document.querySelector('#dup-note').textContent)")
    return page


def test_not_duplicates_hides_the_group_for_good(browser: Browser, served: Served) -> None:
    page = open_duplicates(browser, served)
    lib = served.library
    group = page.locator("#groups article.group")
    assert group.count() == 1
    assert group.get_attribute("data-keeper") in {lib.ids["paris"], lib.ids["paris_copy"]}
    group.locator("button.not-duplicates").click()
    page.wait_for_selector("#groups article.group", state="detached")
    page.wait_for_function("() => document.querySelector('#dup-note').textContent.includes('not duplicates')")

    page = open_duplicates(browser, served)
    assert page.inner_text("#dup-note") == "No duplicates of this kind."
    assert page.locator("#groups article.group").count() == 0
    # Near copies are another kind: their group is still listed.
    page.check("#view-duplicates input[name=kind][value=near]")
    page.wait_for_selector("#groups article.group")
    assert page.locator("#groups article.group").get_attribute("data-keeper") == lib.ids["newyork"]


def test_undo_lists_the_group_again(browser: Browser, served: Served) -> None:
    page = open_duplicates(browser, served)
    assert page.locator("#groups article.group").count() == 0
    # Dismiss the near group, then undo from the note: it is listed again, and after a reload too.
    page.check("#view-duplicates input[name=kind][value=near]")
    page.wait_for_selector("#groups article.group")
    page.click("#groups article.group button.not-duplicates")
    page.wait_for_selector("#groups article.group", state="detached")
    page.click("#dup-note button.undo")
    page.wait_for_selector(f"#groups article.group[data-keeper='{served.library.ids['newyork']}']")
    page = open_duplicates(browser, served)
    page.check("#view-duplicates input[name=kind][value=near]")
    page.wait_for_selector(f"#groups article.group[data-keeper='{served.library.ids['newyork']}']")
