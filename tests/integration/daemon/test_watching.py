"""The daemon on real folders: drops, renames, moves, copies, deletions and half-written files."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import numpy as np
import pytest
from PIL import Image

from photoindex.daemon.status import read_status
from photoindex.indexer.store import PhotoPoint
from tests.integration.conftest import make_photo
from tests.integration.daemon.conftest import (
    all_points,
    converged,
    daemon_settings,
    disk_photos,
    indexed,
    running,
    sha256,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


def resolved(path: Path) -> str:
    return str(path.resolve())


async def test_a_dropped_photo_is_searchable_and_status_reports_it(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        path = resolved(make_photo(lib / "kite.jpg", seed=1))
        await wait_until(lambda: path in indexed(daemon.parts.store), what="the drop to be indexed")
        store = daemon.parts.store
        vector = next(p.vector for p in store.scroll(with_vectors=True) if p.payload.path == path)
        assert vector is not None and store.search(vector, limit=1)[0].payload.path == path
        await wait_until(lambda: daemon.status().photos["indexed"] == 1 and daemon.status().state == "idle")
        status = daemon.status()
        assert status.health == "ok" and status.watchers[0].state == "watching"
        assert status.watchers[0].mode == "inotify" and status.since_start["indexed"] == 1
        await wait_until(lambda: read_status(tmp_path / "state")[0] is not None, what="the status file")
        from_file, note = read_status(tmp_path / "state")
        assert from_file is not None and from_file.pid == os.getpid() and note is None


async def test_renames_and_folder_moves_are_repointed_without_inference(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(6):
        make_photo(lib / ("sub" if i % 2 else "") / f"p{i}.jpg", seed=i)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        store, summary = daemon.parts.store, daemon.summary
        vectors = {p.payload.sha256: p.vector for p in store.scroll(with_vectors=True)}
        embedded, decoded = summary.embedded_images, summary.decoded_images

        (lib / "p0.jpg").rename(lib / "renamed.jpg")
        (lib / "deeper").mkdir()
        (lib / "sub").rename(lib / "deeper" / "moved")  # a folder of 3 photos
        await converged(daemon, lib)

        assert (summary.embedded_images, summary.decoded_images) == (embedded, decoded)
        assert summary.moved >= 4
        for point in store.scroll(with_vectors=True):
            assert np.array_equal(point.vector, vectors[point.payload.sha256])  # the same vector, re-pointed
        assert resolved(lib / "deeper/moved/p1.jpg") in indexed(store)


async def test_deletions_and_copies(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(4):
        make_photo(lib / "album" / f"p{i}.jpg", seed=i)
    make_photo(lib / "keep.jpg", seed=9)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        embedded = daemon.summary.embedded_images
        shutil.copy2(lib / "keep.jpg", lib / "copy of keep.jpg")
        (lib / "album" / "p0.jpg").unlink()
        await converged(daemon, lib)
        assert daemon.summary.reused == 1 and daemon.summary.embedded_images == embedded
        shutil.rmtree(lib / "album")
        await converged(daemon, lib)
        assert set(indexed(daemon.parts.store)) == {resolved(lib / "keep.jpg"), resolved(lib / "copy of keep.jpg")}


def big_jpeg(side: int = 3000) -> bytes:
    """~10 MB: noise compresses badly, so the file is large without being slow to make."""
    buffer = io.BytesIO()
    pixels = np.random.default_rng(7).integers(0, 255, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.mark.slow
async def test_a_slow_writer_is_indexed_once_and_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    data = big_jpeg()
    settings = daemon_settings(tmp_path)
    target = lib / "slow.jpg"
    async with running(settings, [lib]) as daemon:
        decoded = daemon.summary.decoded_images
        # Every point the daemon writes goes through the store's upsert: the ones for the file while it is still
        # being written are recorded, so "never indexed early" holds for every write, not just for samples.
        complete = threading.Event()
        written_early: list[object] = []
        store = daemon.parts.store
        upsert = store.upsert

        def recording_upsert(points: Sequence[PhotoPoint]) -> None:
            if not complete.is_set():
                written_early.extend(p.payload.size for p in points if p.payload.path == resolved(target))
            upsert(points)

        monkeypatch.setattr(store, "upsert", recording_upsert)

        def write_slowly() -> float:
            # ~3.5 MB/s in 64 KiB writes on one open handle, like a camera upload or a slow share.
            chunk, started = 64 << 10, time.monotonic()
            with open(target, "wb") as handle:
                for offset in range(0, len(data), chunk):
                    handle.write(data[offset : offset + chunk])
                    handle.flush()
                    time.sleep(max(0.0, started + (offset + chunk) / 3.5e6 - time.monotonic()))
            complete.set()
            return time.monotonic() - started

        writing_s = await anyio.to_thread.run_sync(write_slowly)
        assert writing_s >= 1.0 and written_early == []  # several settle windows of writing, never indexed early
        await wait_until(lambda: resolved(target) in indexed(daemon.parts.store), what="the slow file")
        await wait_until(lambda: not daemon.busy())
        payload = indexed(daemon.parts.store)[resolved(target)]
        assert payload["size"] == len(data) and payload["sha256"] == sha256(target)
        assert daemon.summary.decoded_images == decoded + 1 and daemon.summary.failed_total == 0


async def test_truncated_mid_write_then_completed_is_indexed_once(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    data = (make_photo(tmp_path / "source.jpg", seed=3, size=(1200, 900))).read_bytes()
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:

        def write() -> None:
            with open(lib / "t.jpg", "wb") as handle:
                handle.write(data[: len(data) // 2])
                handle.flush()
                time.sleep(0.3)
                handle.truncate(0)
                handle.seek(0)
                handle.write(data)

        await anyio.to_thread.run_sync(write)
        await converged(daemon, lib)
        assert indexed(daemon.parts.store)[resolved(lib / "t.jpg")]["sha256"] == sha256(lib / "t.jpg")
        assert daemon.summary.decoded_images == 1 and daemon.summary.failed_total == 0


async def test_temp_then_rename_editor_rsync_and_mv(tmp_path: Path) -> None:
    lib, outside = tmp_path / "lib", tmp_path / "outside"
    lib.mkdir()
    outside.mkdir()
    make_photo(lib / "doc.jpg", seed=1)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        # An editor saving over doc.jpg: new content in a temp file renamed over the original.
        make_photo(tmp_path / "v2.jpg", seed=2)
        shutil.copyfile(tmp_path / "v2.jpg", lib / "doc.jpg.tmp")
        os.replace(lib / "doc.jpg.tmp", lib / "doc.jpg")
        # rsync: a hidden ".name.XXXXXX" temp file renamed when complete.
        make_photo(lib / ".synced.jpg.Xa91Qz", seed=3)
        os.rename(lib / ".synced.jpg.Xa91Qz", lib / "synced.jpg")
        # mv from another folder on the same filesystem: only a rename event arrives.
        make_photo(outside / "moved-in.jpg", seed=4)
        os.rename(outside / "moved-in.jpg", lib / "moved-in.jpg")
        await converged(daemon, lib)
        points = all_points(daemon.parts.store)
        assert set(points) == disk_photos(lib) == {resolved(lib / n) for n in ("doc.jpg", "synced.jpg", "moved-in.jpg")}
        assert points[resolved(lib / "doc.jpg")]["sha256"] == sha256(lib / "doc.jpg")
        assert daemon.summary.failed_total == 0 and daemon.summary.decoded_images == 4


async def test_changes_made_while_stopped_are_found_at_start(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(5):
        make_photo(lib / f"p{i}.jpg", seed=i)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
    (lib / "p0.jpg").unlink()
    (lib / "p1.jpg").rename(lib / "renamed.jpg")
    make_photo(lib / "p2.jpg", seed=22)  # changed content
    make_photo(lib / "new" / "p5.jpg", seed=5)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        summary = daemon.summary
        assert (summary.moved, summary.deleted, summary.indexed) == (1, 1, 2)
        assert indexed(daemon.parts.store)[resolved(lib / "p2.jpg")]["sha256"] == sha256(lib / "p2.jpg")


async def test_deferred_captions_run_when_idle_and_idle_models_are_unloaded(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(2):
        make_photo(lib / f"p{i}.jpg", seed=i)
    settings = daemon_settings(tmp_path, captions="deferred", idle_unload_s=4.0)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        store = daemon.parts.store
        await wait_until(
            lambda: all(p.get("caption_status") == "done" for p in indexed(store).values()), what="captions"
        )
        assert all(p.get("caption") for p in indexed(store).values())
        await wait_until(lambda: daemon.parts.models.unloads >= 1, timeout=30, what="the idle unload")
        assert daemon.parts.models.embedder is None and daemon.status().models.embedder == "unloaded"
        make_photo(lib / "after.jpg", seed=7)  # models come back on demand
        await converged(daemon, lib)
        assert daemon.summary.embedded_images == 3
