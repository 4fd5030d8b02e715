"""Run a command in a pseudo-terminal of a fixed size and read back what a user would see.

The command gets a real TTY on stdin, stdout and stderr (so it draws its
progress bar and renders logs for a person), sized with TIOCSWINSZ. What it
wrote is kept twice: the raw bytes, split into the logical lines it wrote,
and the screen as a VT100 emulator (pyte) draws them.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pyte

COLUMNS = 100
ROWS = 200  # tall enough that nothing a test run prints scrolls off the emulated screen

# One format for every log line: "HH:MM:SS [level    ] event   [logger] key=value ..."
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d \[(debug|info|warning|error|critical) *\] \S.*? \[[\w.\-]+\]( |$)")
BAR_LINE = re.compile(r"^(indexing|captioning): +\d+%\|.*\| \d+/\d+ \[[^\]]*\]$")
SUMMARY_LINE = re.compile(r"^\d+ files: .* failed  \(\d+\.\d s(, \d+\.\d files/s)?\)$")
SUMMARY_DETAIL = re.compile(r"^  \S")  # the summary's own indented lines: failures by code, stage times


@dataclass
class TerminalRun:
    returncode: int
    raw: bytes
    screen: list[str]  # the emulated screen's rows, right-stripped, trailing blank rows dropped
    seconds: float

    @property
    def lines(self) -> list[str]:
        """The logical lines as written: for text redrawn in place with CR, its last state."""
        text = self.raw.decode("utf-8", "replace").replace("\r\n", "\n")
        return [part.split("\r")[-1].rstrip() for part in text.split("\n") if part.split("\r")[-1].strip()]

    def log_lines(self, level: str | None = None) -> list[str]:
        return [line for line in self.lines if LOG_LINE.match(line) and (level is None or f"[{level}" in line)]

    def bar_rows(self, label: str) -> list[str]:
        return [row for row in self.screen if row.startswith(f"{label}:")]


def run_in_terminal(
    argv: list[str], *, env: dict[str, str], cwd: Path | None = None, timeout: float = 240.0
) -> TerminalRun:
    """Run ``argv`` on a fresh pseudo-terminal of COLUMNS x ROWS until it exits; kill it past ``timeout``."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    started = time.monotonic()
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True, start_new_session=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                process.kill()
                raise TimeoutError(f"{argv[:4]} still running after {timeout:g} s")
            ready, _, _ = select.select([master], [], [], min(remaining, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other end has closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
        returncode = process.wait(timeout=max(1.0, started + timeout - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    raw = b"".join(chunks)
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.ByteStream(screen).feed(raw)
    rows = [row.rstrip() for row in screen.display]
    while rows and not rows[-1]:
        rows.pop()
    return TerminalRun(returncode, raw, rows, time.monotonic() - started)
