"""A real server on a temp library and Debian's headless Chromium driving the web page through Playwright.

Chromium comes from the system (``apt-get install chromium``), never from
``playwright install``. Without it the browser tests skip, saying why; under
CI (``CI=true``) they fail instead, so a CI image without a browser cannot
pass by skipping.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from bench.chromium import CHROMIUM_ARGS, find_chromium

from photoindex.daemon.status import DaemonStatus, ModelStatus, QueueStatus
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.store import VectorStore
from photoindex.library import failures_by_code
from tests.integration.api.conftest import SPEC, Library, api_app, build_library, open_store, settings_for
from tests.integration.api.test_api_paging import free_port


def chromium_path() -> str:
    """The system Chromium; skips (fails under CI) when there is none or Playwright is missing."""
    found = find_chromium()
    missing = None
    if found is None:
        missing = "no Chromium at /usr/bin/chromium (apt-get install chromium)"
    else:
        try:
            importlib.import_module("playwright.sync_api")
        except ImportError:
            missing = "Playwright for Python is not installed (pip install -e '.[test]')"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(f"browser tests skipped: {missing}")
    assert found is not None
    return found


@dataclass
class FakeDaemon:
    """The daemon's status record as ``create_app``'s status hook gives it; ``queued`` changes under test.

    Its failures by code are the library's, as the real daemon's tally of the same store would be."""

    root: str
    store: VectorStore
    queued: int = 3
    calls: int = field(default=0)

    def __call__(self) -> DaemonStatus:
        self.calls += 1
        return DaemonStatus(
            state="indexing",
            health="ok",
            problems=[],
            pid=os.getpid(),
            version="test",
            started_at="2026-01-01T00:00:00+00:00",
            updated_at="2026-01-01T00:00:01+00:00",
            uptime_seconds=1.0,
            queue=QueueStatus(settling=1, queued=self.queued, rescans=0, scanning=False),
            rate_per_second=2.5,
            eta_seconds=None,
            photos={},
            failures_by_code=failures_by_code(self.store),
            captions_pending=None,
            since_start={},
            models=ModelStatus(embedder="loaded", captioner="off", idle_unload_seconds=600.0, unloads=0),
            watchers=[],
            collection="photoindex_test",
        )


@pytest.fixture(scope="module")
def web_library(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    decoder: DecodePool,
    api_models: ModelWorker,
) -> Iterator[Library]:
    """The API tests' library, one per test module: pages trash files, dismiss pairs and change the watched folders."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_web_")
    base = tmp_path_factory.mktemp(f"web-{module}")
    store = open_store("edge", base)
    yield build_library(store, decoder, api_models, base)
    store.close()


@dataclass
class Served:
    url: str
    library: Library
    daemon: FakeDaemon
    trash_files: Path  # the session's trash (tests/conftest.py): where send2trash puts what the page trashes


@pytest.fixture(scope="module")
def served(web_library: Library, api_models: Any, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The real app over the library, served by uvicorn in a thread on a free port.

    A test module may set ``API_SETTINGS`` (a dict of ``[api]`` settings) for its server."""
    port = free_port()
    daemon = FakeDaemon(str(web_library.root), web_library.store)
    app = api_app(
        settings_for(web_library, port=port, **getattr(request.module, "API_SETTINGS", {})),
        store=web_library.store,
        models=api_models,
        spec=SPEC,
        config_file=web_library.data_dir / "config.toml",
        projection_warm_up=False,
        status=daemon,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.wait(0.05):
        if server.started:
            started.set()
        assert thread.is_alive(), "the server did not start"
    try:
        yield Served(
            f"http://127.0.0.1:{port}", web_library, daemon, Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Browser:
    page: Any
    requests: list[str]
    shots: Path


@pytest.fixture(scope="module")
def browser(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One Chromium page for the module; every URL it requests is recorded."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("PHOTOINDEX_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1100, "height": 700})
        page = context.new_page()
        page.set_default_timeout(15_000)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(served.url + "/")
        yield Browser(page, requests, shots)
        context.close()
        chromium.close()


def screenshot(browser: Browser, name: str) -> None:
    """``name-light.png`` and ``name-dark.png``, reduced to a small palette so they stay small."""
    from PIL import Image

    page = browser.page
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        path = browser.shots / f"{name}-{scheme}.png"
        page.screenshot(path=str(path))
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=128).save(path, optimize=True)
    page.emulate_media(color_scheme="light")


__all__ = ["Browser", "FakeDaemon", "Served", "browser", "chromium_path", "screenshot", "served", "web_library"]
