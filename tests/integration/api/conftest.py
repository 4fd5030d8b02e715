"""A small real library, indexed by the real pipeline into both stores, served by the real app.

Photos carry real EXIF (camera, lens, date, GPS) so every filter has
something to find; one is an exact copy, one a resized re-encode (a near
duplicate), one is truncated (a failure). Captions are written afterwards, as
the deferred caption pass would, with known words for the hybrid search.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image

from photoindex.config import ApiSettings, AppPaths, ModelSettings, PathSettings, Settings, WatchSettings
from photoindex.daemon.status import DaemonStatus, ModelStatus, QueueStatus
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.identity import load_host_id
from photoindex.indexer.models.ids import ClipSpec
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import VectorStore
from photoindex.indexer.writer import IndexWriter
from photoindex.library import remove_root, unwatch_root
from photoindex.query_api import create_app
from tests.fixtures.images import make_jpeg, make_png
from tests.integration.conftest import HOST, TINY_DIM, TINY_SIZE, make_pipeline, working_models

BASE_URL = "http://127.0.0.1:8765"
SPEC = ClipSpec(model_id="tiny-clip/random", dim=TINY_DIM, image_size=TINY_SIZE, random_weights=True)
LENS = 0xA434

# name → (folder, make, model, lens, taken, gps, size)
PHOTOS: dict[
    str, tuple[str, str | None, str | None, str | None, str | None, tuple[float, float] | None, tuple[int, int]]
] = {
    "paris": ("a", "Canon", "EOS R5", "RF24-70mm", "2021:06:01 10:00:00", (48.8566, 2.3522), (640, 480)),
    "winter": ("a", "Canon", "EOS R5", "RF24-70mm", "2022:01:15 09:30:00", None, (800, 600)),
    "newyork": ("b", "NIKON", "D850", "AF-S 50mm", "2023:03:10 14:00:00", (40.7128, -74.0060), (640, 480)),
    "london": ("b", "NIKON", "D850", None, "2023:07:04 18:00:00", (51.5074, -0.1278), (320, 240)),
    "tokyo": ("c", "SONY", "ILCE-7M3", None, "2020:11:20 12:00:00", (35.6762, 139.6503), (640, 427)),
}
CAPTIONS = {
    "paris": "a red kite flying over a sandy beach",
    "winter": "snow covered mountain at dawn",
    "newyork": "a yellow taxi on a busy street",
}


@dataclass
class Library:
    root: Path
    store: VectorStore
    ids: dict[str, str]  # file stem → point id
    paths: dict[str, str]  # file stem → canonical path
    cache_dir: Path
    data_dir: Path


def _write_library(root: Path) -> None:
    for seed, (name, (folder, make, model, lens, taken, gps, size)) in enumerate(PHOTOS.items()):
        exif = {LENS: lens} if lens else None
        (root / folder).mkdir(parents=True, exist_ok=True)
        make_jpeg(
            root / folder / f"{name}.jpg",
            size,
            seed=seed + 1,
            make=make,
            model=model,
            exif=exif,
            taken_at=taken,
            gps=(gps[0], gps[1], None) if gps else None,
        )
    (root / "b" / "sub").mkdir(parents=True, exist_ok=True)
    make_png(root / "b" / "sub" / "plain.png", (400, 300), seed=9)
    shutil.copy2(root / "a" / "paris.jpg", root / "c" / "paris_copy.jpg")  # an exact duplicate
    with Image.open(root / "b" / "newyork.jpg") as image:  # a near duplicate: half size, re-encoded
        small = image.resize((320, 240), Image.Resampling.LANCZOS)
        small.save(root / "c" / "newyork_small.jpg", "JPEG", quality=70, exif=image.getexif())
    (root / "c" / "broken.jpg").write_bytes((root / "a" / "winter.jpg").read_bytes()[:1500])  # truncated


async def _index(store: VectorStore, decoder: DecodePool, models: ModelWorker, root: Path, work: Path) -> None:
    pipeline = make_pipeline(store, decoder, models, work)
    canonical = canonical_root(str(root))
    await pipeline.run(list(iter_files([canonical], DiscoveryRules())))
    by_stem = {Path(p.payload.path).stem: p for p in store.scroll()}
    for stem, caption in CAPTIONS.items():
        store.set_payload(by_stem[stem].id, {"caption": caption, "caption_status": "done"})


def build_library(store: VectorStore, decoder: DecodePool, models: ModelWorker, base: Path) -> Library:
    root = base / "lib"
    _write_library(root)
    anyio.run(_index, store, decoder, models, root, base)
    (base / "data").mkdir(parents=True, exist_ok=True)
    (base / "data" / "host-id").write_text(HOST + "\n", encoding="ascii")  # the API is on the host that indexed
    points = list(store.scroll())
    return Library(
        root=Path(canonical_root(str(root))),
        store=store,
        ids={Path(p.payload.path).stem: p.id for p in points},
        paths={Path(p.payload.path).stem: p.payload.path for p in points},
        cache_dir=base / "cache",
        data_dir=base / "data",
    )


def open_store(kind: str, base: Path) -> VectorStore:
    if kind == "edge":
        from photoindex.indexer.store import EdgeStore

        return EdgeStore.open(base / "store", "photoindex_test", TINY_DIM)
    from qdrant_client import QdrantClient

    from photoindex.indexer.store.server import ServerStore

    return ServerStore(QdrantClient(location=":memory:"), "photoindex_test", TINY_DIM)


@pytest.fixture(scope="session")
def api_models() -> Iterator[ModelWorker]:
    models = working_models()
    yield models
    models.close()


@pytest.fixture
def own_library(tmp_path: Path, decoder: DecodePool, api_models: ModelWorker) -> Iterator[Library]:
    """A fresh indexed library on the embedded store, the test's own: for tests that change it."""
    store = open_store("edge", tmp_path)
    yield build_library(store, decoder, api_models, tmp_path)
    store.close()


@pytest.fixture(scope="session", params=["edge", "server"])
def library(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    decoder: DecodePool,
    api_models: ModelWorker,
) -> Iterator[Library]:
    """The indexed library, shared by read-only tests (one per store adapter); do not change it."""
    base = tmp_path_factory.mktemp(f"api-{request.param}")
    store = open_store(request.param, base)
    yield build_library(store, decoder, api_models, base)
    store.close()


def settings_for(lib: Library, **api: Any) -> Settings:
    return Settings(
        watch=WatchSettings(folders=(str(lib.root),)),
        model=ModelSettings(captions="off", weights="random"),
        paths=PathSettings(data_dir=str(lib.data_dir), cache_dir=str(lib.cache_dir), state_dir=str(lib.data_dir)),
        api=ApiSettings(**{"browse_roots": (str(lib.root.parent),), **api}),
    )


def idle_status() -> DaemonStatus:
    """A daemon with nothing to do and nothing wrong."""
    return DaemonStatus(
        state="idle",
        health="ok",
        problems=[],
        pid=os.getpid(),
        version="test",
        started_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:01+00:00",
        uptime_seconds=1.0,
        queue=QueueStatus(settling=0, queued=0, rescans=0, scanning=False),
        rate_per_second=0.0,
        eta_seconds=None,
        photos={},
        failures_by_code={},
        captions_pending=None,
        since_start={},
        models=ModelStatus(embedder="loaded", captioner="off", idle_unload_seconds=600.0, unloads=0),
        watchers=[],
        collection="photoindex_test",
    )


@dataclass
class StubDaemon:
    """The daemon as the API sees it, with the parts a test gives (else idle); a removed folder's photos go
    as without one."""

    store: VectorStore
    host_id: str
    status_of: Callable[[], object] = idle_status
    rescan_of: Callable[[str], Awaitable[None]] | None = None
    folders_changed: Callable[[tuple[str, ...]], object] | None = None

    def status(self) -> object:
        return self.status_of()

    async def rescan(self, folder: str) -> None:
        if self.rescan_of is not None:
            await self.rescan_of(folder)

    async def set_roots(self, folders: tuple[str, ...]) -> None:
        if self.folders_changed is not None:
            self.folders_changed(folders)

    async def release_root(self, folder: str, purge: bool) -> int:
        writer = IndexWriter(self.store, IndexState(self.host_id))
        return await (remove_root if purge else unwatch_root)(writer, folder)


def api_app(
    settings: Settings,
    *,
    store: VectorStore,
    models: ModelWorker,
    spec: ClipSpec = SPEC,
    status: Callable[[], object] | None = None,
    rescan: Callable[[str], Awaitable[None]] | None = None,
    on_folders_changed: Callable[[tuple[str, ...]], object] | None = None,
    **kwargs: Any,
) -> Litestar:
    """``create_app`` over a test library: this host's folders and id, and a stub daemon when a hook is given."""
    paths = AppPaths.from_settings(settings)
    host_id = load_host_id(paths.data_dir)
    daemon = None
    if status is not None or rescan is not None or on_folders_changed is not None:
        daemon = StubDaemon(store, host_id, status or idle_status, rescan, on_folders_changed)
    return create_app(
        settings, store=store, models=models, paths=paths, spec=spec, host_id=host_id, daemon=daemon, **kwargs
    )


def client_for(lib: Library, models: ModelWorker, settings: Settings | None = None, **kwargs: Any) -> TestClient[Any]:
    app = api_app(
        settings or settings_for(lib),
        store=lib.store,
        models=models,
        config_file=kwargs.pop("config_file", lib.data_dir / "config.toml"),
        projection_warm_up=False,
        **kwargs,
    )
    return TestClient(app, base_url=BASE_URL)


@pytest.fixture
def client(library: Library, api_models: ModelWorker) -> Iterator[TestClient[Any]]:
    with client_for(library, api_models) as test_client:
        yield test_client
