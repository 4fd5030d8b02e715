"""``photoindex serve --detach``: start the daemon in the background and return once its page answers.

What the quick start needs: one command that leaves a daemon watching a
folder, indexing in the background, and prints where the web page is. The
child is its own session (a closed terminal does not take it down) and writes
its log to ``serve.log`` in the state folder. Ready means the daemon's status
file names its API; a child that exits first, or is not ready within the
timeout, is an error that quotes the log's last lines.

With a daemon already running, no second one starts (it could not open the
index anyway): the folders are added to the running one through its API.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from photoindex.config import AppPaths, Settings
from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.oneshot.daemon_client import watch_folder
from photoindex.oneshot.opening import page_of

LOG_NAME = "serve.log"
READY_TIMEOUT_S = 120.0  # model-free start: the API answers before any model loads
_POLL_S = 0.2
_LOG_TAIL_LINES = 20


class RunningDaemon(Protocol):
    """What is read here of a daemon's status record."""

    @property
    def pid(self) -> int: ...

    @property
    def api_url(self) -> str | None: ...


# The running daemon's status from the state folder (``daemon.status.read_status``), or None and why.
StatusReader = Callable[[Path], tuple[RunningDaemon | None, str | None]]


@dataclass(frozen=True)
class Detached:
    """A daemon running in the background: its pid, its page, and what this call did."""

    pid: int
    page_url: str
    started: bool  # False: one was running already
    added: list[str] = field(default_factory=list)  # folders the running daemon now watches as well
    log: Path | None = None

    def describe(self) -> list[str]:
        """What to tell the user besides the page's URL."""
        if self.started:
            return [
                f"photoindex is running in the background (pid {self.pid}), indexing; log: {self.log}",
                "`photoindex status` shows its progress; stop it with `kill "
                f"{self.pid}`, or keep it across logins with `photoindex service install`",
            ]
        lines = [f"photoindex was already running (pid {self.pid})"]
        lines += [f"it now watches {root} as well" for root in self.added]
        return lines


def serve_detached(
    settings: Settings,
    roots: list[str],
    *,
    config_file: Path | None,
    read_status: StatusReader,
    timeout_s: float = READY_TIMEOUT_S,
) -> Detached:
    """Start ``photoindex serve ROOTS`` in the background, or add ROOTS to the daemon already running."""
    paths = AppPaths.from_settings(settings)
    status, _why = read_status(paths.state_dir)
    if status is not None and status.api_url:
        added = [root for root in roots if watch_folder(settings, status.api_url, root)]
        return Detached(status.pid, page_of(status.api_url), started=False, added=added)
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    log = paths.state_dir / LOG_NAME
    command = [sys.executable, "-m", "photoindex"]
    if config_file is not None and config_file.is_file():
        command += ["--config", str(config_file)]
    command += ["serve", *roots]
    with open(log, "ab") as out:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise PhotoindexError(
                f"the daemon exited with code {child.returncode} before it was ready; {LOG_NAME} ends with:\n"
                + _tail(log),
                code=ErrorCode.DAEMON_START,
            )
        status, _why = read_status(paths.state_dir)
        if status is not None and status.pid == child.pid and status.api_url:
            return Detached(child.pid, page_of(status.api_url), started=True, log=log)
        time.sleep(_POLL_S)  # the status file is the only signal a detached child gives
    raise PhotoindexError(
        f"the daemon (pid {child.pid}) is not ready after {timeout_s:.0f} s; it keeps running; "
        f"{LOG_NAME} ends with:\n" + _tail(log),
        code=ErrorCode.DAEMON_START,
    )


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:])


__all__ = ["LOG_NAME", "Detached", "serve_detached"]
