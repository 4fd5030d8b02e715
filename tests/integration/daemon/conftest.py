"""Run the daemon in-process on temp folders: real inotify, the real embedded store, tiny models."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from PIL import Image

from photoindex.components import open_components
from photoindex.config import ModelSettings, PathSettings, Settings, WatchSettings
from photoindex.daemon.lock import OwnerLock
from photoindex.daemon.serve import Daemon
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.store import PhotoFilter, VectorStore, payload_to_dict
from tests.fixtures.models import tiny_blip_captioner, tiny_clip_config, tiny_clip_embedder


def daemon_settings(tmp_path: Path, *, watch: dict[str, Any] | None = None, **model: Any) -> Settings:
    """Tiny random-weight CLIP, private folders, quick settling (tests wait on real clocks)."""
    clip = tiny_clip_config(tmp_path / "models" / "tiny-clip.json")
    model_options = {"clip": str(clip), "weights": "random", "captions": "off", "decode_workers": 2, **model}
    watch_options = {"settle_s": 0.5, "max_delay_s": 5.0, **(watch or {})}
    return Settings(
        watch=WatchSettings(**watch_options),
        model=ModelSettings(**model_options),
        paths=PathSettings(
            data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"), state_dir=str(tmp_path / "state")
        ),
    )


@asynccontextmanager
async def running(settings: Settings, roots: list[Path], **options: Any) -> AsyncIterator[Daemon]:
    """A started daemon (owner lock taken, store open, watchers on), as ``serve`` runs it; cancelled on exit."""
    captions = settings.model.captions != "off"
    models = ModelWorker(
        tiny_clip_embedder, tiny_blip_captioner if captions else None, idle_unload_s=settings.model.idle_unload_s
    )
    state_dir = Path(settings.paths.state_dir or "")
    with OwnerLock.acquire(state_dir), open_components(settings, models=models) as parts:
        async with anyio.create_task_group() as tg:
            daemon: Daemon = await tg.start(Daemon(parts, [str(r) for r in roots], **{"api": False, **options}).run)
            try:
                yield daemon
            finally:
                tg.cancel_scope.cancel()


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await anyio.sleep(0.05)


def indexed(store: VectorStore, status: str = "indexed") -> dict[str, dict[str, Any]]:
    """path → payload of the points with ``status``."""
    return {p.payload.path: payload_to_dict(p.payload) for p in store.scroll(flt=PhotoFilter(statuses=(status,)))}


def all_points(store: VectorStore) -> dict[str, dict[str, Any]]:
    return {p.payload.path: payload_to_dict(p.payload) for p in store.scroll()}


def disk_photos(root: Path) -> set[str]:
    return {str(p.resolve()) for p in root.rglob("*.jpg") if not any(part.startswith(".") for part in p.parts)}


async def converged(daemon: Daemon, root: Path, timeout: float = 60.0) -> None:
    """Wait until the index holds exactly the photos on disk, all indexed, and the daemon is idle."""

    def done() -> bool:
        return not daemon.busy() and set(indexed(daemon.parts.store)) == disk_photos(root) == set(
            all_points(daemon.parts.store)
        )

    await wait_until(done, timeout, f"the index to match {root}")


def tiny_jpeg(path: Path, seed: int, side: int = 24) -> Path:
    """A small distinct JPEG (fast to write by the thousand)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG", quality=80)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
