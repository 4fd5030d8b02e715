"""Tell the service manager how the daemon is doing: systemd's notify protocol, no dependency.

systemd passes ``NOTIFY_SOCKET`` (a datagram socket, ``@`` for the abstract
namespace) to a ``Type=notify`` service; ``READY=1`` ends start-up,
``WATCHDOG=1`` pings keep a ``WatchdogSec=`` service from being restarted,
``STOPPING=1`` announces shutdown and ``STATUS=`` is shown by
``systemctl status``. Without the variable (a terminal, launchd, tests) every
call is a no-op.

A send never waits: it runs on the daemon's event loop, and a manager that
stops reading fills the socket's queue (10 datagrams by default on Linux), on
which a blocking send would freeze the whole daemon, signals included. A
message that does not fit is dropped; a watchdog ping is sent again anyway.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger(__name__)


class Notifier:
    """Sends notify messages to the socket named by ``NOTIFY_SOCKET``, if any."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # the abstract namespace
        self._address = address or None
        self._watchdog_s = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half the manager's watchdog timeout; None when it set none."""
        return self._watchdog_s

    def send(self, *lines: str) -> bool:
        """Send one message (lines joined by newlines); False when not under a manager or it failed."""
        if self._address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.connect(self._address)
                sock.send("\n".join(lines).encode())
        except BlockingIOError:
            log.debug("daemon.notify_dropped", message=lines[0], why="the service manager is not reading")
            return False
        except OSError as exc:
            log.warning("daemon.notify_failed", error=str(exc))
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None  # meant for another process
    return usec / 2_000_000


__all__ = ["Notifier"]
