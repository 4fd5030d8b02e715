"""The running daemon keeps its thumbnail cache: thumbnails of deleted photos are collected, shared ones stay."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import anyio
import pytest

from photoindex.indexer.decoding.thumbnail_cache import YOUNG_S
from tests.integration.daemon.conftest import converged, daemon_settings, running, sha256, tiny_jpeg

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]


async def test_thumbnails_of_deleted_photos_are_collected_and_shared_ones_stay(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    keep, gone, original = (tiny_jpeg(root / f"{name}.jpg", seed=i) for i, name in enumerate(("keep", "gone", "a")))
    copy = root / "copy-of-a.jpg"
    shutil.copyfile(original, copy)
    settings = daemon_settings(tmp_path)
    async with running(settings, [root]) as daemon:
        await converged(daemon, root)
        cache = daemon.parts.thumbnails
        thumbs = {p.name: cache.path(sha256(p)) for p in (keep, gone, original)}
        assert all(t.is_file() for t in thumbs.values())
        assert cache.total_bytes > 0  # the pipeline reported what it wrote
        gone.unlink()
        original.unlink()  # its copy still holds the same content
        await converged(daemon, root)
        then = time.time() - YOUNG_S - 60
        for thumb in thumbs.values():
            os.utime(thumb, (then, then))
        result = await anyio.to_thread.run_sync(daemon.cache_upkeep.sweep)
        assert result.dead == 1
        assert not thumbs["gone.jpg"].exists()
        assert thumbs["keep.jpg"].is_file() and thumbs["a.jpg"].is_file()
