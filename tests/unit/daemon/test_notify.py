"""The systemd notify protocol over a real datagram socket."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from photoindex.daemon.notify import Notifier


@pytest.fixture
def listener(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()


def test_ready_watchdog_and_stopping_reach_the_socket(listener) -> None:  # type: ignore[no-untyped-def]
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"})
    assert notifier.enabled and notifier.watchdog_interval_s == 2.0
    assert notifier.ready("watching 1 folder")
    assert sock.recv(4096) == b"READY=1\nSTATUS=watching 1 folder"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_abstract_socket_names_start_with_at() -> None:
    name = f"photoindex-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(64) == b"READY=1"
    finally:
        sock.close()


def test_without_a_manager_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and notifier.watchdog_interval_s is None
    assert not notifier.ready() and not notifier.watchdog()


def test_a_watchdog_meant_for_another_process_is_ignored() -> None:
    assert Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).watchdog_interval_s is None


def test_a_manager_that_stops_reading_never_blocks_the_sender(listener) -> None:  # type: ignore[no-untyped-def]
    path, _sock = listener  # bound, never read: its queue fills after a few datagrams
    notifier = Notifier({"NOTIFY_SOCKET": path})
    results: list[bool] = []
    sender = threading.Thread(target=lambda: results.extend(notifier.watchdog() for _ in range(200)), daemon=True)
    sender.start()
    sender.join(timeout=30)  # before the fix, a send waited forever for room in the queue
    assert not sender.is_alive(), "a notify send blocked"
    assert results[0] is True and results[-1] is False  # the first fitted, the rest were dropped
