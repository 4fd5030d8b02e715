"""The daemon-level state: starting, the first scans, indexing, idle, stopping.

Moved by the events that cause each change: ready, the first root scans
done, work coming or going, shutdown. Reading it changes nothing.
"""

from __future__ import annotations

from photoindex.daemon.status import DaemonState


class DaemonPhase:
    """What the daemon as a whole is doing, and the transitions between."""

    def __init__(self) -> None:
        self.state = DaemonState.STARTING

    def ready(self) -> None:
        """Store open and watchers on: the first reconcile scans follow."""
        self.state = DaemonState.SCANNING

    def root_scans_done(self) -> None:
        """No whole-root scan waits any more: what is left is indexing what they found."""
        if self.state == DaemonState.SCANNING:
            self.state = DaemonState.INDEXING

    def work_changed(self, *, busy: bool) -> None:
        """Work came or went: idle once there is none, indexing again when some arrives."""
        if self.state in (DaemonState.SCANNING, DaemonState.INDEXING) and not busy:
            self.state = DaemonState.IDLE
        elif self.state == DaemonState.IDLE and busy:
            self.state = DaemonState.INDEXING

    def stopping(self) -> None:
        self.state = DaemonState.STOPPING


__all__ = ["DaemonPhase"]
