"""The web page on a high-DPI screen: 400 px thumbnails in the grid, and a HEIC photo the browser can show.

Chromium shows neither HEIC nor RAW; the page must ask for the API's JPEG
renditions. The page runs at ``deviceScaleFactor`` 2, so ``srcset`` picks the
2x thumbnails; what the browser actually loaded is read from ``currentSrc``,
``naturalWidth`` and the requests it made.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from tests.e2e.browser import CHROMIUM_ARGS, Browser, Served, chromium_path, served
from tests.integration.api.conftest import Library, api_models
from tests.integration.api.test_api_display import build_corpus_library
from tests.integration.conftest import decoder

__all__ = ["api_models", "decoder", "served"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(120)

FILES = {
    "iphone.heic": "photos/photoprism/examples/iphone_7.heic",  # 4032 x 3024
    "canon.dng": "raw/photoprism/examples/canon_eos_6d.dng",
    "upright.jpg": "photos/exif-samples/orientation/landscape_1.jpg",
}


@pytest.fixture(scope="module")
def web_library(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, decoder: DecodePool, api_models: ModelWorker
) -> Iterator[Library]:
    lib = build_corpus_library(tmp_path_factory.mktemp("web-display"), corpus_dir, FILES, decoder, api_models)
    yield lib
    lib.store.close()


@pytest.fixture(scope="module")
def hidpi(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A Chromium page on a 2x screen; every URL it requests is recorded."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1100, "height": 700}, device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(20_000)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        yield Browser(page, requests, tmp_path_factory.mktemp("shots"))
        context.close()
        chromium.close()


def timeline(browser: Browser, served: Served) -> Any:
    page = browser.page
    page.goto(f"{served.url}/#timeline")
    page.wait_for_selector("#view-timeline:not([hidden])")
    page.wait_for_function(f"() => document.querySelectorAll('#timeline li.tile').length === {len(FILES)}")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#timeline li.tile img')].every(i => i.complete && i.naturalWidth)"
    )
    return page


def test_a_2x_screen_loads_the_400_px_thumbnails(hidpi: Browser, served: Served) -> None:
    page = timeline(hidpi, served)
    assert page.evaluate("() => window.devicePixelRatio") == 2
    loaded = page.eval_on_selector_all(
        "#timeline li.tile img", "imgs => imgs.map(i => [i.currentSrc, i.naturalWidth, i.naturalHeight])"
    )
    assert len(loaded) == len(FILES)
    for src, width, height in loaded:
        assert src.startswith(served.url + "/api/v1/photos/") and src.endswith("/thumbnail?size=400"), src
        assert max(width, height) == 200  # a 2x candidate's natural size counts in CSS pixels: 400 / 2
    first = loaded[0][0]
    pixels = page.evaluate(
        "async src => { const b = await createImageBitmap(await (await fetch(src)).blob());"
        " return Math.max(b.width, b.height); }",
        first,
    )
    assert pixels == 400
    asked = [u for u in hidpi.requests if "/thumbnail" in u]
    assert asked and all(u.endswith("?size=400") for u in asked)


def test_a_heic_photo_opens_as_an_image_that_decoded(hidpi: Browser, served: Served) -> None:
    page = timeline(hidpi, served)
    heic = served.library.ids["iphone.heic"]
    page.click(f"#timeline li.tile[data-id='{heic}'] .thumb")
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function(f"() => document.querySelector('#viewer').dataset.id === '{heic}'")
    page.wait_for_function(
        "() => { const i = document.querySelector('#viewer-img');"
        " return i.complete && i.currentSrc.endsWith('/display'); }"
    )
    src, width, height = page.eval_on_selector("#viewer-img", "i => [i.currentSrc, i.naturalWidth, i.naturalHeight]")
    assert src == f"{served.url}/api/v1/photos/{heic}/display"
    assert (width, height) == (1600, 1200)  # decoded, and far sharper than a thumbnail
    original = page.get_attribute("#viewer-original", "href")
    assert original == f"/api/v1/photos/{heic}/original"
    page.keyboard.press("Escape")
    page.wait_for_selector("#viewer:not([open])", state="attached")
