"""Dropping photos into a large library reads no whole-store scroll, and neither does asking for status.

The library's few thousand points are written through the store adapter
beforehand, each for a real (tiny) file on disk, so the daemon's first
reconcile finds them all unchanged. The daemon's store is wrapped in a
``ScrollCountingStore`` (see there for what "whole-store" means); counting
starts once that first scan is over and the daemon is idle, and ends when the
last dropped photo is found by a search over HTTP, while /status (and the rest
of what the web page's live status polls) is polled all along.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import numpy as np
import pytest

import photoindex.components as components
from photoindex.components import lay_groundwork, open_index_store
from photoindex.config import ApiSettings, AppPaths, Settings
from photoindex.indexer.identity import load_host_id
from photoindex.indexer.models.ids import ClipSpec
from photoindex.indexer.store import PhotoPayload, PhotoPoint, VectorStore, point_id
from photoindex.query_api.schemas.common import API_PREFIX
from tests.fixtures.counting_store import ScrollCountingStore
from tests.integration.daemon.conftest import daemon_settings, running, tiny_jpeg, wait_until

LIBRARY = 3000
FOLDERS = 30  # nested folders, as a real library has
DROPS = 4


def write_library(settings: Settings, root: Path, n: int) -> None:
    """``n`` tiny files under ``root`` and a point for each, as the index would have recorded them."""
    ground = lay_groundwork(settings)
    host = load_host_id(ground.paths.data_dir)
    rng = np.random.default_rng(11)
    store = open_index_store(settings, ground.paths, ground.spec)
    try:
        points: list[PhotoPoint] = []
        for i in range(n):
            path = root / f"{2000 + i % FOLDERS}" / f"{i % 7:02d}" / f"IMG_{i:06d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            content = f"photo {i}".encode()
            path.write_bytes(content)
            st = path.stat()
            vector = rng.standard_normal(ground.spec.dim).astype(np.float32)
            payload = PhotoPayload(
                host_id=host,
                path=str(path),
                root=str(root),
                name=path.name,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                inode=st.st_ino,
                sha256=hashlib.sha256(content).hexdigest(),
                status="indexed",
                model_id=ground.spec.model_id,
                format="jpeg",
                width=24,
                height=24,
            )
            points.append(
                PhotoPoint(id=point_id(host, str(path), 0), payload=payload, vector=vector / np.linalg.norm(vector))
            )
        for start in range(0, n, 500):
            store.upsert(points[start : start + 500])
    finally:
        store.close()


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ScrollCountingStore]]:
    """The daemon's store, wrapped where the composition root opens it (the one place a store is built)."""
    opened: list[ScrollCountingStore] = []

    def open_counting(settings: Settings, paths: AppPaths, spec: ClipSpec) -> VectorStore:
        store = ScrollCountingStore(open_index_store(settings, paths, spec))
        opened.append(store)
        return store

    monkeypatch.setattr(components, "open_index_store", open_counting)
    yield opened


async def poll_status(client: httpx.AsyncClient, polls: list[int], stop: Callable[[], bool]) -> None:
    while not stop():
        for route in ("/status", "/capabilities", "/ready", "/health"):  # what the web page polls, and probes
            response = await client.get(route)
            assert response.status_code in (200, 503), (route, response.status_code)
        polls.append(1)
        await anyio.sleep(0.05)


def found(page: dict[str, Any]) -> set[str]:
    return {Path(hit["photo"]["path"]).name for hit in page.get("hits", [])}


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_dropping_photos_into_a_large_library_reads_no_whole_store_scroll(
    tmp_path: Path, counting: list[ScrollCountingStore]
) -> None:
    library, drops = (tmp_path / "library").resolve(), (tmp_path / "library" / "drops").resolve()
    settings = daemon_settings(tmp_path)
    settings = msgspec.structs.replace(settings, api=ApiSettings(port=0))
    write_library(settings, library, LIBRARY)

    async with running(settings, [library], api=True) as daemon:
        store = counting[0]
        assert daemon.api_url is not None
        await wait_until(
            lambda: daemon.status().state == "idle" and len(daemon.parts.pipeline.state) == LIBRARY,
            120,
            "the first reconcile of the library",
        )
        async with httpx.AsyncClient(base_url=daemon.api_url + API_PREFIX, timeout=120) as client:
            store.counting = True
            polls: list[int] = []
            done = False
            async with anyio.create_task_group() as tg:
                tg.start_soon(poll_status, client, polls, lambda: done)
                for seed in range(DROPS):
                    name = f"drop_{seed}.jpg"
                    tiny_jpeg(drops / name, seed=1000 + seed)

                    async def searchable(name: str = name) -> bool:
                        response = await client.get("/search/text", params={"q": "a photo", "folder": str(drops)})
                        return response.status_code == 200 and name in found(response.json())

                    with anyio.fail_after(60):
                        while not await searchable():
                            await anyio.sleep(0.1)
                await wait_until(lambda: len(polls) >= 3, 30, "a few rounds of status polls")
                done = True
            store.counting = False
            window = list(store.whole_scrolls)
            # The instrument is live on the daemon's own store: a whole read through it is counted.
            store.counting = True
            next(iter(daemon.parts.store.scroll(fields=("path",))))
            store.counting = False
            assert len(store.whole_scrolls) == len(window) + 1

    assert len(polls) >= 3
    by_caller = Counter(f"{s.flt}\n{s.caller}" for s in window)
    culprits = "\n\n".join(f"{n} x {where}" for where, n in by_caller.items())
    assert window == [], f"{len(window)} whole-store scroll(s) while photos were dropped:\n{culprits}"
    assert os.path.exists(drops / f"drop_{DROPS - 1}.jpg")
