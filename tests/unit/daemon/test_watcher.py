"""The watcher's pieces: event translation, failure explanations, inotify bookkeeping, wanted paths."""

from __future__ import annotations

import errno
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from photoindex.daemon.events import EventRouter
from photoindex.daemon.settle import Settler
from photoindex.daemon.watcher import FsEvent, RootWatcher, explain_os_error, inotify_watch_count
from photoindex.indexer.discovery import DiscoveryRules


def test_failures_are_explained_with_a_fix() -> None:
    reason, fix = explain_os_error(OSError(errno.ENOSPC, "inotify watch limit reached"))
    assert "ENOSPC" in reason and "fs.inotify.max_user_watches" in fix
    reason, fix = explain_os_error(OSError(errno.EMFILE, "inotify instance limit reached"))
    assert "EMFILE" in reason and "max_user_instances" in fix


@pytest.mark.skipif(inotify_watch_count() is None, reason="inotify is Linux only")
def test_a_real_watcher_reports_writes_closes_moves_and_counts_its_watches(tmp_path: Path) -> None:
    for sub in ("a", "a/b", "c"):
        (tmp_path / sub).mkdir()
    events: list[FsEvent] = []
    before = inotify_watch_count() or 0
    watcher = RootWatcher(str(tmp_path), events.append)
    watcher.start()
    try:
        assert watcher.alive() and watcher.mode == "inotify"
        assert (inotify_watch_count() or 0) - before >= 4  # the root and its three folders
        (tmp_path / "a" / "p.jpg").write_bytes(b"x")
        (tmp_path / "a" / "p.jpg").rename(tmp_path / "c" / "q.jpg")
        deadline = time.monotonic() + 10
        while not any(e.kind == "moved" for e in events) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.stop()
    kinds = [(e.kind, Path(e.path).name, Path(e.dest).name if e.dest else "") for e in events]
    assert ("closed", "p.jpg", "") in kinds and ("moved", "p.jpg", "q.jpg") in kinds
    assert not any(kind.startswith("dir_modified") for kind, _p, _d in kinds)  # folder noise is dropped
    assert not watcher.alive()


def test_wanted_paths_skip_hidden_folders_and_partial_files(tmp_path: Path) -> None:
    settler = Settler(settle_s=1, max_delay_s=10, max_pending=100)
    router = EventRouter(
        pipeline=None,  # type: ignore[arg-type]  # wanted() looks at names only
        rules=DiscoveryRules(exclude=("raw-*",)),
        work=SimpleNamespace(settler=settler),  # type: ignore[arg-type]
    )
    root = str(tmp_path)
    assert router.wanted(f"{root}/2024/p.jpg", root)
    assert not router.wanted(f"{root}/.thumbnails/p.jpg", root)
    assert not router.wanted(f"{root}/raw-imports/p.jpg", root)
    assert not router.wanted(f"{root}/.p.jpg.Xa9", root) and not router.wanted(f"{root}/p.jpg.part", root)
    assert not router.wanted(f"{root}-other/p.jpg", root) and not router.wanted(root, root)
