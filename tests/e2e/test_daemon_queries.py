"""``photoindex serve`` as a real process, as a searcher meets it: after the idle unload, and on a busy machine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photoindex.indexer.decoding.pool import DECODE_WORKER_NAME
from photoindex.indexer.priority import INDEX_THREAD_NAME, INDEXING_NICE
from tests.e2e.conftest import write_config
from tests.e2e.test_daemon_process import photo, tagged_processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 120) -> tuple[int, Any, float]:
    """(status, JSON body, seconds) of one GET."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read()), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), time.perf_counter() - started


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (urllib.error.URLError, ConnectionError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class ApiDaemon:
    """``python -m photoindex serve`` with the query API on, started with a test tag in its environment."""

    def __init__(self, tmp_path: Path, env: dict[str, str], **model: str) -> None:
        self.root = tmp_path / "lib"
        self.root.mkdir()
        self.port = free_port()
        self.config = write_config(tmp_path, **model)
        with open(self.config, "a", encoding="utf-8") as handle:
            handle.write(f"[watch]\nsettle_s = 0.5\n[api]\nport = {self.port}\n")
        self.tag = uuid.uuid4().hex
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET", "WATCHDOG_"))}
        self.log = tmp_path / "daemon.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "photoindex", "--config", str(self.config), "serve", str(self.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**base, "HF_HUB_OFFLINE": "1", "PHOTOINDEX_TEST_TAG": self.tag, **env},
            )
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        wait_for(lambda: self.alive() and get(f"{self.base}/ready", 5)[1].get("ready"), 120, "the daemon to be ready")

    def alive(self) -> bool:
        assert self.process.poll() is None, f"the daemon exited:\n{self.tail()}"
        return True

    def status(self) -> dict[str, Any]:
        self.alive()
        return dict(get(f"{self.base}/status", 10)[1]["daemon"])

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        finally:
            leftovers = tagged_processes(self.tag)
            for pid in leftovers:
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., ApiDaemon]]:
    started: list[ApiDaemon] = []

    def make(env: dict[str, str], **model: str) -> ApiDaemon:
        started.append(ApiDaemon(tmp_path, env, **model))
        return started[-1]

    yield make
    for daemon in started:
        daemon.stop()


def test_the_first_search_after_the_idle_unload_answers(make_daemon: Callable[..., ApiDaemon]) -> None:
    # The default architecture: loading it in a fresh model process takes seconds (4.4 s on 2
    # idle cores), longer than a query used to wait before answering 503.
    daemon = make_daemon({"PHOTOINDEX_MODEL__IDLE_UNLOAD_S": "5"}, clip="ViT-B-32")
    status, body, seconds = get(f"{daemon.base}/search/text?q=a+red+kite")
    assert status == 200, (body, seconds, daemon.tail())  # the first query of all: it waits for the load
    wait_for(
        lambda: (s := daemon.status()["models"])["unloads"] >= 1 and s["embedder"] == "unloaded",
        120,
        "the models to be unloaded for idleness",
    )
    status, body, seconds = get(f"{daemon.base}/search/text?q=a+dog+on+a+beach")
    assert status == 200, (body, seconds)
    assert daemon.status()["models"]["embedder"] == "loaded"


def threads(pid: int) -> dict[int, tuple[str, int]]:
    """{thread id: (name, nice)} of every thread of ``pid``, from /proc/<pid>/task/*/stat."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        found[int(tid)] = (name, int(stat.rsplit(")", 1)[1].split()[16]))  # nice: field 19 of stat(5)
    return found


def children(pid: int) -> list[int]:
    """Child processes of ``pid``: each thread's own (the model process is started by a worker thread)."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as handle:
            found += [int(p) for p in handle.read().split()]
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads nice values from /proc")
def test_indexing_runs_niced_and_the_daemon_answering_queries_does_not(
    make_daemon: Callable[..., ApiDaemon],
) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)  # the test may itself run under nice
    if ours >= INDEXING_NICE:
        pytest.skip(f"this test runs at nice {ours}: nothing can be lowered to {INDEXING_NICE} from here")
    daemon = make_daemon({})
    for i in range(3):
        photo(daemon.root / f"p{i}.jpg", seed=i)
    wait_for(lambda: daemon.status()["photos"]["indexed"] == 3, 120, "three photos indexed")
    assert get(f"{daemon.base}/search/text?q=a+photo")[0] == 200

    main = daemon.process.pid
    # HTTP handling and store searches run in the daemon's own threads, at the priority it was given;
    # only the model worker's indexing thread (which hands batches to the model process) is lowered.
    daemon_threads = threads(main)
    assert {nice for name, nice in daemon_threads.values() if name != INDEX_THREAD_NAME} == {ours}
    assert daemon_threads[main][1] == ours
    processes = {pid: threads(pid) for pid in children(main)}
    decoders = [pid for pid, named in processes.items() if named[pid][0] == DECODE_WORKER_NAME]
    assert len(decoders) >= 1, processes  # the decode workers live on until the idle TTL (300 s here)
    for pid in decoders:
        assert {nice for _name, nice in processes[pid].values()} == {INDEXING_NICE}, processes[pid]
    hosts = [pid for pid, named in processes.items() if (INDEX_THREAD_NAME, INDEXING_NICE) in named.values()]
    assert len(hosts) == 1, processes
    models = hosts[0]
    # Indexing batches ran on the indexing thread and its OpenMP team, which inherit its nice value;
    # loads and the query ran on the model process's main thread, at the daemon's priority.
    assert {nice for name, nice in processes[models].values() if name == INDEX_THREAD_NAME} == {INDEXING_NICE}
    assert processes[models][models][1] == ours
