"""Uploading from the web page in a real browser: each file's progress to done, a refused file's error from the
API, and the uploaded photo found by a search once indexed.

A library and server of their own (files land in that library's inbox). The daemon watches the inbox and indexes
what lands there; the test server runs no daemon, so the test indexes the inbox with the real pipeline, as the
daemon's watcher would, and then searches through the page like a user.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.models.worker import ModelWorker
from tests.e2e.browser import Browser, Served, browser, screenshot, served, web_library
from tests.fixtures.images import make_jpeg
from tests.integration.api.conftest import api_models
from tests.integration.conftest import decoder, make_pipeline

__all__ = ["api_models", "browser", "decoder", "served", "web_library"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(120)
API_SETTINGS = {"max_upload_mb": 1}  # the served app's upload limit: a larger file is refused before it is sent


def open_folders(browser: Browser, served: Served) -> Any:
    page = browser.page
    page.goto(f"{served.url}/#folders")
    page.reload()  # a fresh upload list
    page.wait_for_selector("#view-folders:not([hidden])")
    return page


def row(name: str, state: str) -> str:
    return f"#uploads li.upload[data-name='{name}'][data-state='{state}']"


def index_inbox(served: Served, decoder: DecodePool, models: ModelWorker, work: Path) -> None:
    """What the daemon's watcher does with a file that lands in the inbox."""
    inbox = canonical_root(str(served.library.data_dir / "inbox"))

    async def run() -> None:
        pipeline = make_pipeline(served.library.store, decoder, models, work)
        await pipeline.run(list(iter_files([inbox], DiscoveryRules())))

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, run).result(timeout=60)


def test_a_picked_photo_uploads_with_progress_and_becomes_searchable(
    browser: Browser, served: Served, decoder: DecodePool, api_models: ModelWorker, tmp_path: Path
) -> None:
    page = open_folders(browser, served)
    photo = tmp_path / "harbour.jpg"
    make_jpeg(photo, (500, 375), seed=77)
    assert not page.is_visible("#uploads li.upload")
    page.set_input_files("#upload-pick", str(photo))
    page.wait_for_selector(row("harbour.jpg", "done"))
    assert page.eval_on_selector(f"{row('harbour.jpg', 'done')} progress", "p => p.value") == 1
    assert "added" in page.inner_text(row("harbour.jpg", "done"))
    page.wait_for_function("() => document.querySelector('#upload-note').textContent === '1 of 1 uploaded.'")
    landed = served.library.data_dir / "inbox" / "harbour.jpg"
    assert landed.read_bytes() == photo.read_bytes()
    screenshot(browser, "upload")

    index_inbox(served, decoder, api_models, tmp_path / "work")
    (uploaded,) = [p.id for p in served.library.store.scroll() if p.payload.path.endswith("/inbox/harbour.jpg")]
    page.goto(f"{served.url}/#search")
    page.wait_for_selector("#view-search:not([hidden])")
    page.set_input_files("#pick", str(photo))
    page.wait_for_function(f"() => document.querySelector('#results li.tile')?.dataset.id === '{uploaded}'")


def test_a_refused_file_shows_the_api_error_and_a_drop_uploads_several(browser: Browser, served: Served) -> None:
    page = open_folders(browser, served)
    page.set_input_files(
        "#upload-pick", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo\n" * 20}]
    )
    page.wait_for_selector(row("notes.txt", "refused"))
    status = page.inner_text(f"{row('notes.txt', 'refused')} .upload-status")
    assert "not an image" in status and "ERR_UNSUPPORTED_FORMAT" in status
    assert not (served.library.data_dir / "inbox" / "notes.txt").exists()

    # Dropped on the upload zone, files upload (not the page-wide search by image).
    data = [base64.b64encode(Path(served.library.paths[name]).read_bytes()).decode() for name in ("tokyo", "london")]
    transfer = page.evaluate_handle(
        """data => { const dt = new DataTransfer();
                     data.forEach((b64, i) => dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))],
                                                           `dropped-${i}.jpg`, {type: 'image/jpeg'})));
                     return dt; }""",
        data,
    )
    big = {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + bytes(1_100_000)}
    page.set_input_files("#upload-pick", files=[big])
    page.wait_for_selector(row("huge.jpg", "refused"))
    assert "ERR_TOO_LARGE" in page.inner_text(f"{row('huge.jpg', 'refused')} .upload-status")
    assert not (served.library.data_dir / "inbox" / "huge.jpg").exists()

    page.dispatch_event("#upload-zone", "dragover", {"dataTransfer": transfer})
    assert page.is_hidden("#drop-zone")
    page.dispatch_event("#upload-zone", "drop", {"dataTransfer": transfer})
    page.wait_for_selector(row("dropped-0.jpg", "done"))
    page.wait_for_selector(row("dropped-1.jpg", "done"))
    page.wait_for_function("() => document.querySelector('#upload-note').textContent === '2 of 4 uploaded, 2 refused.'")
    assert page.is_visible("#view-folders")  # it stayed here: nothing was searched
    inbox = served.library.data_dir / "inbox"
    assert (inbox / "dropped-0.jpg").read_bytes() == Path(served.library.paths["tokyo"]).read_bytes()
