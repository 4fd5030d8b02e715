"""The map view in a real browser: dots painted on a canvas, a thumbnail on hover, the photo view on click.

The server starts without a fitted map (``projection_warm_up=False``), so the
page first shows that the map is being made and polls until it is ready.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from photoindex.indexer.models.worker import ModelWorker
from tests.e2e.browser import Browser, Served, browser, screenshot, served, web_library
from tests.integration.api.conftest import SPEC, api_app, api_models, settings_for
from tests.integration.api.test_api_paging import free_port
from tests.integration.conftest import decoder

__all__ = ["api_models", "browser", "decoder", "served", "web_library"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(180)

# Where the canvas has painted: every non-transparent pixel's CSS position and colour, and how many there are.
PAINTED = """canvas => {
  const {width, height} = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const scale = width / canvas.clientWidth;
  let count = 0, first = null;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i] === 0) continue;
    count += 1;
    if (first === null) first = [((i >> 2) % width) / scale, Math.floor((i >> 2) / width) / scale];
  }
  return {count, first};
}"""


@pytest.fixture(scope="module")
def origins(served: Served) -> list[str]:
    """The servers the page may talk to: the module's, and one a test restarts over the same library."""
    return [served.url]


@pytest.fixture(autouse=True)
def same_origin_only(browser: Browser, origins: list[str]) -> Iterator[None]:
    start = len(browser.requests)
    yield
    foreign = [u for u in browser.requests[start:] if not any(u.startswith(o + "/") for o in origins)]
    assert foreign == [], f"the page requested outside its origin: {foreign}"


@pytest.fixture(autouse=True)
def no_script_errors(browser: Browser) -> Iterator[None]:
    """An exception in the page's modules (a frame, a handler) fails the test that caused it."""
    errors: list[str] = []

    def listener(error: Any) -> None:
        errors.append(str(error))

    browser.page.on("pageerror", listener)
    yield
    browser.page.remove_listener("pageerror", listener)
    assert errors == [], f"the page threw: {errors}"


@contextmanager
def restarted(served: Served, api_models: ModelWorker) -> Iterator[str]:
    """A second app over the same library and cache folder, as a restarted daemon: it starts from the saved map."""
    port = free_port()
    lib = served.library
    app = api_app(
        settings_for(lib, port=port),
        store=lib.store,
        models=api_models,
        spec=SPEC,
        config_file=lib.data_dir / "config.toml",
        projection_warm_up=False,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def open_map(browser: Browser, served: Served) -> Any:
    page = browser.page
    page.goto(f"{served.url}/#map")
    page.wait_for_selector("#view-map:not([hidden])")
    # The first request starts the fit; the page polls until the map is there.
    page.wait_for_selector("#map-canvas[data-state=ready]", timeout=120_000)
    return page


def test_the_map_waits_for_its_first_fit_then_paints_every_photo(browser: Browser, served: Served) -> None:
    page = browser.page
    page.goto(f"{served.url}/#map")
    page.wait_for_selector("#view-map:not([hidden])")
    assert page.get_attribute("nav a[data-view=map]", "aria-current") == "page"
    page.wait_for_selector("#map-canvas[data-state=ready]", timeout=120_000)
    expected = len(served.library.ids) - 1  # not the broken file
    assert page.get_attribute("#map-canvas", "data-points") == str(expected)
    page.wait_for_function(f"() => document.querySelector('#map-canvas').dataset.drawn === '{expected}'")
    api = httpx.get(f"{served.url}/api/v1/projection").json()
    assert api["total"] == expected and not api["computing"]
    painted = page.eval_on_selector("#map-canvas", PAINTED)
    assert painted["count"] >= 6 * 6 * 2  # at least two separate dots (paris and its copy share one place)
    assert "photos" in page.inner_text("#map-note")
    label = page.get_attribute("#map-canvas", "aria-label")
    assert label and page.get_attribute("#map-canvas", "aria-describedby") == "map-help"
    screenshot(browser, "map")


def test_hovering_a_dot_shows_its_thumbnail_and_clicking_opens_it(browser: Browser, served: Served) -> None:
    page = open_map(browser, served)
    page.wait_for_function("() => +document.querySelector('#map-canvas').dataset.drawn > 0")
    first = page.eval_on_selector("#map-canvas", PAINTED)["first"]
    box = page.locator("#map-canvas").bounding_box()
    x, y = box["x"] + first[0] + 2, box["y"] + first[1] + 2  # inside the dot whose top-left pixel this is
    page.mouse.move(x, y)
    page.wait_for_selector("#map-tip:not([hidden])")
    page.wait_for_function(
        "() => { const i = document.querySelector('#map-tip img'); return i.complete && i.naturalWidth > 0; }"
    )
    shown = page.get_attribute("#map-tip", "data-id")
    assert shown in served.library.ids.values()
    assert page.get_attribute("#map-tip img", "src") == f"/api/v1/photos/{shown}/thumbnail"
    screenshot(browser, "map")
    page.mouse.click(x, y)
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function(f"() => document.querySelector('#viewer').dataset.id === '{shown}'")
    page.wait_for_function("() => document.querySelector('#viewer-title').textContent !== ''")
    page.keyboard.press("Escape")
    page.wait_for_selector("#viewer:not([open])", state="attached")
    page.mouse.move(box["x"] + 1, box["y"] + 1)  # away from every dot (they keep a margin)
    page.wait_for_selector("#map-tip", state="hidden")


def test_the_map_zooms_and_pans_and_opens_the_dot_at_the_crosshair(browser: Browser, served: Served) -> None:
    page = open_map(browser, served)
    canvas = page.locator("#map-canvas")
    page.click("#map-reset")
    page.wait_for_function("() => document.querySelector('#map-canvas').dataset.zoom === '1.000'")
    canvas.focus()
    page.keyboard.press("+")
    page.wait_for_function("() => document.querySelector('#map-canvas').dataset.zoom === '1.500'")
    page.click("#map-zoom-out")
    page.wait_for_function("() => document.querySelector('#map-canvas').dataset.zoom === '1.000'")
    box = canvas.bounding_box()
    before = page.eval_on_selector("#map-canvas", PAINTED)["first"]
    canvas.focus()
    page.keyboard.press("ArrowLeft")  # the view moves left: the dots move right by a tenth of its width
    page.wait_for_function(
        f"""() => {{ const f = ({PAINTED})(document.querySelector('#map-canvas')).first;
                    return f && Math.abs(f[0] - {before[0]} - {box["width"] * 0.1}) < 2; }}"""
    )
    # Drag a dot to the centre, then choose it from the keyboard: the crosshair takes the dot nearest the centre.
    first = page.eval_on_selector("#map-canvas", PAINTED)["first"]
    start = (box["x"] + first[0] + 3, box["y"] + first[1] + 3)
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*centre, steps=8)
    page.mouse.up()
    assert page.locator("#viewer[open]").count() == 0  # a drag is not a click
    canvas.focus()
    page.keyboard.press("+")
    page.wait_for_selector("#map-tip:not([hidden])")
    chosen = page.get_attribute("#map-tip", "data-id")
    assert chosen in served.library.ids.values() and "Enter" in page.inner_text("#map-current")
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer[open]")
    page.wait_for_function(f"() => document.querySelector('#viewer').dataset.id === '{chosen}'")
    page.keyboard.press("Escape")
    page.wait_for_selector("#viewer:not([open])", state="attached")


def test_a_newer_map_is_announced_while_made_and_loaded_when_asked(
    browser: Browser, served: Served, api_models: ModelWorker, origins: list[str]
) -> None:
    """Last in the module: it removes a photo from the library."""
    removed = served.library.ids["tokyo"]
    answer = httpx.post(f"{served.url}/api/v1/photos/remove", json={"ids": [removed]})
    assert answer.status_code == 200 and answer.json()["removed"] == 1
    with restarted(served, api_models) as url:
        origins.append(url)
        page = browser.page
        page.goto(f"{url}/#map")
        # The saved map is shown at once, flagged; the library changed, so a newer one is being made.
        page.wait_for_selector("#map-canvas[data-state=ready]")
        before = len(served.library.ids) - 1
        assert page.get_attribute("#map-canvas", "data-points") == str(before)
        page.wait_for_function("() => document.querySelector('#map-note').textContent.includes('being made')")
        page.wait_for_selector("#map-reload:not([hidden])", timeout=120_000)
        assert "newer map is ready" in page.inner_text("#map-note")
        assert page.get_attribute("#map-canvas", "data-points") == str(before)  # nothing changes until asked
        page.click("#map-reload")
        page.wait_for_function(f"() => document.querySelector('#map-canvas').dataset.points === '{before - 1}'")
        page.wait_for_selector("#map-reload", state="hidden")
        assert "being made" not in page.inner_text("#map-note")
        page.goto(f"{served.url}/#map")  # off the second server before it stops
