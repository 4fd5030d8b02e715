"""One daemon per data directory: the owner lock, seen from this process and from another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from photoindex.daemon.lock import OwnerLock, running_pid
from photoindex.errors import ErrorCode, StoreError


def test_second_owner_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    with OwnerLock.acquire(tmp_path) as lock:
        assert running_pid(tmp_path) is not None
        with pytest.raises(StoreError) as refused:
            OwnerLock.acquire(tmp_path, data_dir=tmp_path / "data")
        assert refused.value.code == ErrorCode.STORE_IN_USE
        assert "already running" in refused.value.message and str(tmp_path / "data") in refused.value.message
        assert lock.path.exists()
    assert running_pid(tmp_path) is None  # released; the file stays, harmlessly
    OwnerLock.acquire(tmp_path).release()


def test_another_process_sees_the_owner_and_a_killed_owner_frees_the_lock(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from photoindex.daemon.lock import OwnerLock;"
        f"OwnerLock.acquire(Path({str(tmp_path)!r})); print('held', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert running_pid(tmp_path) == child.pid
        with pytest.raises(StoreError, match=f"pid {child.pid}"):
            OwnerLock.acquire(tmp_path)
    finally:
        child.kill()
        child.wait()
    assert running_pid(tmp_path) is None
    OwnerLock.acquire(tmp_path).release()
