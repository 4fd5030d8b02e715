"""The read-only gate on a real small filesystem: the thumbnail cache yields first, then writes are refused
(before they touch the store), and they open again by themselves once space is back."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import numpy as np
import pytest

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache
from photoindex.indexer.disk.gate import ReadOnlyGate
from photoindex.indexer.disk.space import MB, DiskSpace
from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, point_id
from photoindex.indexer.store.guarded import GuardedStore

MIN_FREE_MB = 4


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (CI runs the tests as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (mount said: {done.stderr.strip()}); the test needs CAP_SYS_ADMIN")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path, name: str, leave_mb: float) -> Path:
    filler = folder / name
    st = os.statvfs(folder)
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, st.f_bavail * st.f_frsize - int(leave_mb * MB))
    finally:
        os.close(fd)
    return filler


def fake_thumbnails(cache: ThumbnailCache, n: int, size: int) -> None:
    for i in range(n):
        path = cache.path(f"{i:064x}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


def test_the_cache_yields_first_then_writes_are_refused_then_they_resume(small_fs: Path, tmp_path: Path) -> None:
    cache = ThumbnailCache(small_fs / "cache", max_bytes=10**9)
    gate = ReadOnlyGate(DiskSpace([small_fs / "cache"], min_free_mb=MIN_FREE_MB), cache, store_dir=None)
    fake_thumbnails(cache, 40, 100_000)  # 4 MB of thumbnails on the same filesystem
    resumed: list[bool] = []
    gate.on_resume = lambda: resumed.append(True)
    # The store lives elsewhere here (it needs more room than this filesystem has); the gate is the same.
    store = GuardedStore(EdgeStore.open(tmp_path / "store", "c", 4), gate.refusal)
    point = PhotoPoint(id=point_id("h", "/p.jpg"), payload=PhotoPayload(path="/p.jpg"), vector=np.ones(4, np.float32))

    async def scenario() -> None:
        filler = fill(small_fs, "filler", leave_mb=MIN_FREE_MB - 1)
        await gate.check()
        assert not gate.read_only, "evicting thumbnails was enough: writes must go on"
        assert 0 < len(list(cache.root.rglob("*.jpg"))) < 40
        store.upsert([point])

        left = sum(p.stat().st_size for p in cache.root.rglob("*.jpg"))
        more = fill(small_fs, "more", leave_mb=MIN_FREE_MB - 2)  # short by more than the cache still holds
        await gate.check()
        assert sum(p.stat().st_size for p in cache.root.rglob("*.jpg")) == left  # kept: evicting would not do
        assert gate.read_only and gate.shortage is not None
        assert gate.shortage.reason.startswith("disk full: ") and f"need {MIN_FREE_MB} MB" in gate.shortage.reason
        with pytest.raises(StoreError) as refused:
            store.upsert([point])
        assert refused.value.code == ErrorCode.DISK_FULL
        assert store.retrieve([point.id])  # reads go on
        assert cache.refusal() is not None  # and no thumbnail is rebuilt into the short disk

        waiting = anyio.Event()
        read_only_when_through: list[bool] = []

        async def writer() -> None:
            await gate.wait_writable()
            read_only_when_through.append(gate.read_only)
            waiting.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            await anyio.wait_all_tasks_blocked()  # the writer has gone as far as it can: it waits on the gate
            assert not waiting.is_set()
            filler.unlink()
            more.unlink()
            with anyio.fail_after(10):
                while gate.read_only:
                    await gate.check()
                await waiting.wait()
        assert read_only_when_through == [False]  # it went through once the space was back, whenever that was
        assert resumed == [True]
        store.upsert([point])

    try:
        anyio.run(scenario)
    finally:
        store.close()
