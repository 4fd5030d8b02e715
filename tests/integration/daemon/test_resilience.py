"""The daemon under trouble: roots that vanish or unmount, watchers that fail or die, event storms."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import subprocess
import uuid
from pathlib import Path

import anyio
import pytest
from watchdog.observers.inotify import InotifyObserver

from photoindex.indexer.store import PhotoFilter
from tests.integration.conftest import make_photo
from tests.integration.daemon.conftest import (
    all_points,
    converged,
    daemon_settings,
    disk_photos,
    indexed,
    running,
    tiny_jpeg,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]


def available_flags(store, root: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    flt = PhotoFilter(roots=(str(root.resolve()),))
    return {p.payload.path: p.payload.available for p in store.scroll(flt=flt)}


async def test_a_renamed_root_keeps_its_photos_as_unavailable_until_it_returns(tmp_path: Path) -> None:
    lib, away = tmp_path / "lib", tmp_path / "lib-away"
    for i in range(3):
        make_photo(lib / f"p{i}.jpg", seed=i)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        lib.rename(away)
        await wait_until(lambda: daemon.status().watchers[0].state == "unavailable", what="the root to be missed")
        await wait_until(lambda: set(available_flags(daemon.parts.store, lib).values()) == {False}, what="marks")
        status = daemon.status()
        assert status.health == "degraded" and len(indexed(daemon.parts.store)) == 3  # nothing deleted
        assert "unavailable" in (status.watchers[0].fix or "") and status.problems[0].where == str(lib.resolve())
        make_photo(away / "while-away.jpg", seed=7)
        (away / "p0.jpg").unlink()
        away.rename(lib)
        await converged(daemon, lib)
        await wait_until(lambda: False not in available_flags(daemon.parts.store, lib).values(), what="unmarks")
        assert daemon.status().watchers[0].state == "watching" and daemon.status().health == "ok"


def can_bind_mount(tmp_path: Path) -> bool:
    source, target = tmp_path / "probe-src", tmp_path / "probe-dst"
    source.mkdir()
    target.mkdir()
    try:
        done = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(target)], check=True, timeout=10)
    return True


@pytest.mark.slow
async def test_an_unmounted_root_is_not_taken_for_deleted_photos(tmp_path: Path) -> None:
    if not can_bind_mount(tmp_path):
        pytest.skip("mounting needs privileges this machine does not give")
    disk, mnt = tmp_path / "disk", tmp_path / "mnt"
    for i in range(3):
        make_photo(disk / f"p{i}.jpg", seed=i)
    mnt.mkdir()
    subprocess.run(["mount", "--bind", str(disk), str(mnt)], check=True, timeout=10)
    try:
        settings = daemon_settings(tmp_path)
        async with running(settings, [mnt]) as daemon:
            await converged(daemon, mnt)
            subprocess.run(["umount", "-l", str(mnt)], check=True, timeout=10)  # the mount point stays, empty
            await wait_until(lambda: daemon.status().watchers[0].state == "unavailable", what="the unmount")
            assert "mount" in (daemon.status().watchers[0].reason or "")
            # A barrier, not a pause: a full scan of the empty mount point runs to its end, and
            # everything queued (settling paths, files in flight) drains, before counting.
            await daemon.rescan(str(mnt))
            await wait_until(lambda: not daemon.busy(), what="the scan of the unmounted root")
            assert len(indexed(daemon.parts.store)) == 3
            subprocess.run(["mount", "--bind", str(disk), str(mnt)], check=True, timeout=10)
            await converged(daemon, mnt)
            await wait_until(lambda: daemon.status().watchers[0].state == "watching", what="the remount")
            await wait_until(lambda: False not in available_flags(daemon.parts.store, mnt).values(), what="unmarks")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


class NoWatchesLeft(InotifyObserver):
    """An inotify observer on a machine whose fs.inotify.max_user_watches is used up."""

    def on_thread_start(self) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


async def test_without_inotify_watches_the_root_is_degraded_and_scanned(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    make_photo(lib / "before.jpg", seed=1)
    settings = daemon_settings(tmp_path, watch={"network_rescan_interval_s": 1.0})
    async with running(settings, [lib], observer_factory=NoWatchesLeft) as daemon:
        await converged(daemon, lib)
        watcher = daemon.status().watchers[0]
        assert (watcher.state, watcher.mode) == ("scanning", "scan") and daemon.status().health == "degraded"
        assert "ENOSPC" in (watcher.reason or "") and "max_user_watches" in (watcher.fix or "")
        make_photo(lib / "after.jpg", seed=2)  # no event will come: the rescan finds it
        await converged(daemon, lib, timeout=30)


async def test_a_dead_observer_is_restarted_and_the_root_rescanned(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=1)
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        first = daemon.roots[str(lib.resolve())].watcher
        assert first is not None
        first._observer.stop()  # type: ignore[union-attr]  # its threads end, as if they had crashed
        make_photo(lib / "b.jpg", seed=2)
        await wait_until(
            lambda: (w := daemon.roots[str(lib.resolve())].watcher) is not None and w is not first and w.alive(),
            what="a new watcher",
        )
        await converged(daemon, lib)
        make_photo(lib / "c.jpg", seed=3)  # seen by the new watcher
        await converged(daemon, lib)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_a_burst_of_5000_files_converges_with_bounded_memory(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    settings = daemon_settings(tmp_path, watch={"max_pending": 200})
    async with running(settings, [lib]) as daemon:
        peak = {"settling": 0, "in_flight": 0}

        async def watch_queues() -> None:
            while True:
                peak["settling"] = max(peak["settling"], len(daemon.settler))
                peak["in_flight"] = max(peak["in_flight"], len(daemon.work.in_flight))
                await anyio.sleep(0.01)

        def burst() -> None:
            for i in range(5000):
                tiny_jpeg(lib / f"d{i % 50:02d}" / f"{uuid.uuid4().hex[:8]}-{i}.jpg", seed=i)

        before = rss_mb()
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_queues)
            await anyio.to_thread.run_sync(burst)
            await converged(daemon, lib, timeout=360)
            tg.cancel_scope.cancel()
        assert len(indexed(daemon.parts.store)) == 5000
        assert daemon.settler.collapses >= 1  # the writer outran the pipeline: paths became folder rescans
        assert peak["settling"] <= 200 + 50  # per-file entries, or one per folder once collapsed
        assert peak["in_flight"] <= 512  # the work queue is bounded; the pipeline holds a few batches more
        assert rss_mb() - before < 400


async def test_a_root_that_is_missing_at_start_comes_in_later(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    settings = daemon_settings(tmp_path)
    async with running(settings, [lib]) as daemon:
        assert daemon.status().watchers[0].state == "unavailable"
        staging = tmp_path / "staging"
        make_photo(staging / "a.jpg", seed=1)
        shutil.move(staging, lib)
        await converged(daemon, lib)
        assert set(all_points(daemon.parts.store)) == disk_photos(lib) and os.path.isdir(lib)


async def test_folders_added_and_removed_at_runtime_and_a_rescan_on_request(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_photo(first / "a.jpg", seed=1)
    make_photo(second / "b.jpg", seed=2)
    settings = daemon_settings(tmp_path)
    async with running(settings, [first]) as daemon:
        await converged(daemon, first)
        await daemon.set_roots((str(first), str(second)))  # what the API's /folders calls
        await wait_until(lambda: len(indexed(daemon.parts.store)) == 2, what="the added folder")
        await daemon.set_roots((str(second),))
        assert await daemon.release_root(str(first), purge=True) == 1  # what DELETE /folders?purge=true does
        assert set(indexed(daemon.parts.store)) == {str((second / "b.jpg").resolve())}  # the files stay on disk
        assert (first / "a.jpg").exists() and [w.path for w in daemon.status().watchers] == [str(second.resolve())]
        with pytest.raises(Exception, match="not inside a watched folder"):
            await daemon.rescan(str(first))
        await daemon.rescan(str(second))
        await wait_until(lambda: not daemon.busy())


async def test_a_network_root_is_not_watched_but_rescanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import photoindex.daemon.roots as roots_module

    # What /proc/mounts says for an NFS share (this machine has none to mount).
    monkeypatch.setattr(roots_module, "filesystem_of", lambda _folder, _mounts=None: "nfs4")
    lib = tmp_path / "lib"
    make_photo(lib / "a.jpg", seed=1)
    settings = daemon_settings(tmp_path, watch={"network_rescan_interval_s": 1.0, "network_settle_s": 0.5})
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        watcher = daemon.status().watchers[0]
        assert (watcher.state, watcher.mode, watcher.filesystem) == ("scanning", "scan", "nfs4")
        assert daemon.status().health == "ok"  # scanning a share is the plan, not a problem
        make_photo(lib / "b.jpg", seed=2)
        (lib / "a.jpg").unlink()
        await converged(daemon, lib, timeout=30)
