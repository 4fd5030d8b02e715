"""One library root's state, why it is degraded, and when it is next scanned: the transitions of a root.

A root is ``starting`` until first looked at; ``watching`` with a live
watcher; ``scanning`` when it is there but only rescans see its changes (a
network filesystem, or a watcher that failed and is retried with back-off);
``unavailable`` when its folder is missing or unreadable, its photos kept and
marked unavailable. Each transition is a method, so that state, reason, fix
and the degraded flag always change together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from photoindex.daemon.reconcile import ScanResult
from photoindex.daemon.roots import FIX_MISSING
from photoindex.daemon.status import RootState
from photoindex.daemon.watcher import FIX_WATCHES, RootWatcher

# A watcher that failed is tried again after this long (doubling up to 10 minutes).
WATCH_RETRY_S = 30.0
WATCH_RETRY_MAX_S = 600.0


@dataclass
class MonitoredRoot:
    """One root: its state, why it is degraded, and when it is scanned or its watcher retried."""

    path: str
    network: bool = False
    fstype: str = "unknown"
    watcher: RootWatcher | None = None
    state: RootState = RootState.STARTING
    reason: str | None = None
    fix: str | None = None
    degraded: bool = False  # a problem the user should fix (a network root's scanning is not one)
    retry_at: float = 0.0
    retry_s: float = WATCH_RETRY_S
    next_scan_at: float = float("inf")
    last_scan: ScanResult | None = None
    last_scan_at: str | None = None
    folders: int = 0  # folders holding photos, from the last complete scan

    @property
    def mode(self) -> str:
        return "scan" if self.watcher is None else self.watcher.mode

    def _set(self, state: RootState, reason: str | None, fix: str | None, *, degraded: bool) -> None:
        self.state, self.reason, self.fix, self.degraded = state, reason, fix, degraded

    def mark_available(self, *, network: bool, fstype: str) -> None:
        """Found there: rescans only until a watcher runs (a network root never gets one)."""
        self.network, self.fstype = network, fstype
        self._set(RootState.SCANNING, None, None, degraded=False)
        if network:
            self.reason = f"on a network filesystem ({fstype}): changes made elsewhere raise no events"
            self.fix = "nothing to do: it is rescanned every watch.network_rescan_interval_s"

    def mark_watching(self, watcher: RootWatcher) -> None:
        self.watcher = watcher
        self._set(RootState.WATCHING, None, None, degraded=False)
        self.retry_s = WATCH_RETRY_S

    def mark_watch_failed(self, reason: str, fix: str, now: float) -> None:
        """The watcher could not start: rescans only, and try again later (backing off)."""
        self._set(RootState.SCANNING, reason, fix, degraded=True)
        self.retry_at = now + self.retry_s
        self.retry_s = min(self.retry_s * 2, WATCH_RETRY_MAX_S)

    def mark_watcher_died(self, now: float) -> None:
        self._set(
            RootState.SCANNING,
            "the watcher thread stopped",
            "nothing: it is restarted and the folder rescanned",
            degraded=True,
        )
        self.retry_at = now

    def mark_missing(self, reason: str) -> None:
        self._set(RootState.UNAVAILABLE, reason, FIX_MISSING, degraded=True)

    def take_watcher(self) -> RootWatcher | None:
        """The watcher, now detached (the caller stops it)."""
        watcher, self.watcher = self.watcher, None
        return watcher

    def mark_short_of_watches(self, reason: str, scan_by: float) -> None:
        """inotify has too few watches for this root's folders: rescan it as often as a network root."""
        self.degraded, self.reason, self.fix = True, reason, FIX_WATCHES
        self.next_scan_at = min(self.next_scan_at, scan_by)

    def clear_watch_shortage(self) -> None:
        if self.degraded and self.reason and "inotify watches" in self.reason:
            self.degraded, self.reason, self.fix = False, None, None

    def scanned(self, result: ScanResult, next_scan_at: float) -> None:
        """A scan of the whole root ended; a complete one is what the status reports."""
        self.next_scan_at = next_scan_at
        if result.complete:
            self.last_scan, self.folders = result, len(result.folders)
            self.last_scan_at = datetime.now(UTC).isoformat(timespec="seconds")

    def watch_retry_due(self, now: float) -> bool:
        return self.state == RootState.SCANNING and not self.network and self.watcher is None and now >= self.retry_at


__all__ = ["WATCH_RETRY_MAX_S", "WATCH_RETRY_S", "MonitoredRoot", "RootState"]
