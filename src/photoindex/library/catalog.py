"""Keeps the current library snapshot, brought up to date in the background when the store changes.

The index writer's change records say which points a write touched: those are
read back and merged into the snapshot (``snapshot_update``). A change nobody
reported (another host writing a shared collection, a file edited in place
with no daemon attached) shows in the version instead, and the whole store is
read again. The version can also run a moment ahead of the records (a count
read between the writer's commit and its record): the snapshot is then brought
up to date from the records it has and re-checked at the next request, and
only a gap that outlasts ``UNEXPLAINED_GRACE_S`` costs a whole read.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import anyio
import structlog

from photoindex.indexer.changes import IndexChange
from photoindex.indexer.store import VectorStore
from photoindex.library.jobs import Jobs
from photoindex.library.snapshot import Snapshot, take_snapshot
from photoindex.library.snapshot_update import updated_snapshot
from photoindex.library.version import LibraryVersion, daemon_activity, read_version

log = structlog.get_logger(__name__)

# Versions are re-read at most this often: three counts, a few ms at 100k photos.
VERSION_CHECK_S = 1.0
# A snapshot is re-read at least this often even when no count moved (a file edited in place
# without a daemon attached to tell us).
MAX_SNAPSHOT_AGE_S = 600.0
# The background check re-reads the version this often (one count with a daemon attached).
WATCH_INTERVAL_S = 2.0
# A snapshot the index writer reported a change to (one the version may not show: a caption, a place)
# is re-read once it is this old, so a caption pass writing every few seconds costs a scroll at most this often.
CHANGED_REFRESH_S = 10.0
# More changed ids than this since the last snapshot (or than a quarter of its photos, beyond a few hundred):
# reading the whole store costs less than reading back each point.
MAX_UPDATE_IDS = 20_000
# How long the version may disagree with a snapshot brought up to date from the writer's records before the
# whole store is read: the writer publishes a record within milliseconds of its commit, so a longer gap is a
# change nobody reported.
UNEXPLAINED_GRACE_S = 5.0


class Catalog:
    """The store's photos as a shared ``Snapshot``, kept current without blocking requests."""

    def __init__(
        self,
        store: VectorStore,
        jobs: Jobs,
        *,
        status: Callable[[], object] | None = None,
        limiter: anyio.CapacityLimiter | None = None,
        version_check_s: float = VERSION_CHECK_S,
        max_age_s: float = MAX_SNAPSHOT_AGE_S,
        changed_refresh_s: float = CHANGED_REFRESH_S,
    ) -> None:
        self.store = store
        self._jobs = jobs
        self._status = status
        self._limiter = limiter
        self._version_check_s = version_check_s
        self._max_age_s = max_age_s
        self._changed_refresh_s = changed_refresh_s
        self._version: LibraryVersion | None = None
        self._checked = 0.0
        self._snapshot: Snapshot | None = None
        self._stale = False  # the writer committed a change since the snapshot was taken
        self._touched: set[str] | None = set()  # ids the writer touched since then (None: too many to track)
        self._unexplained_since: float | None = None  # the snapshot does not yet show all the version counts
        self.generation = 0

    async def version(self) -> LibraryVersion:
        """The collection's version now (cached for a second)."""
        now = time.monotonic()
        if self._version is None or now - self._checked >= self._version_check_s:
            activity = daemon_activity(self._status)
            daemon = self._status is not None
            self._version = await anyio.to_thread.run_sync(
                lambda: read_version(self.store, activity=activity, generation=self.generation, daemon=daemon),
                limiter=self._limiter,
            )
            self._checked = now
        return self._version

    def invalidate(self) -> None:
        """The API changed the index: the next version read sees a new generation."""
        self.generation += 1
        self._checked = 0.0

    def changed(self, change: IndexChange) -> None:
        """The index writer committed ``change``: the snapshot is re-read once ``changed_refresh_s`` old.

        The version tells most changes at once (counts, the daemon's activity);
        this also catches those it does not, such as a caption or a place written.
        """
        self._stale = True
        if self._touched is not None:
            self._touched.update(change.touched)
            if len(self._touched) > MAX_UPDATE_IDS:
                self._touched = None

    def fresh(self, snapshot: Snapshot | None, version: LibraryVersion) -> bool:
        if snapshot is None or snapshot.version != version or self._unexplained_since is not None:
            return False
        age = time.monotonic() - snapshot.created
        return age < self._max_age_s and not (self._stale and age >= self._changed_refresh_s)

    async def snapshot(self, *, wait_s: float = 0.0) -> tuple[Snapshot | None, bool]:
        """The latest snapshot and whether it is current; starts a refresh when it is not."""
        version = await self.version()
        if self.fresh(self._snapshot, version):
            return self._snapshot, True
        await self._jobs.start("snapshot", lambda: self._refresh(version), wait_s=wait_s)
        return self._snapshot, self.fresh(self._snapshot, version)

    @property
    def has_snapshot(self) -> bool:
        return self._snapshot is not None

    @property
    def current(self) -> Snapshot | None:
        """The latest snapshot, without asking the store whether it is still current."""
        return self._snapshot

    @property
    def known_version(self) -> LibraryVersion | None:
        """The last version read (by a request or by ``watch``), without reading again."""
        return self._version

    async def watch(self, interval_s: float = WATCH_INTERVAL_S) -> None:
        """Keep the snapshot current in the background, so requests rarely need to check (runs until cancelled)."""
        while True:
            try:
                await self.snapshot()
            except Exception as exc:
                log.warning("library.watch_failed", error=str(exc))
            await anyio.sleep(interval_s)

    @property
    def refreshing(self) -> bool:
        return self._jobs.running("snapshot")

    async def _refresh(self, version: LibraryVersion) -> None:
        # A change committed from here on may not be in this snapshot: it marks it stale again.
        touched, self._touched, self._stale = self._touched, set(), False
        previous = self._snapshot
        snapshot = None
        if previous is not None and touched is not None and len(touched) <= max(len(previous) // 4, 256):
            snapshot = await self._updated(previous, touched, version)
            if snapshot is not None and not _explains(snapshot, version):
                snapshot = self._unexplained(snapshot)
        if snapshot is None or _explains(snapshot, version):
            self._unexplained_since = None
        updated = snapshot is not None
        if snapshot is None:
            snapshot = await anyio.to_thread.run_sync(
                take_snapshot, self.store, version, limiter=self._limiter, abandon_on_cancel=True
            )
        self._snapshot = snapshot
        log.info(
            "library.snapshot",
            photos=len(snapshot),
            version=version.key,
            ms=round(snapshot.taken_s * 1000),
            **({"updated": len(touched or ())} if updated else {}),
        )

    async def _updated(self, previous: Snapshot, touched: set[str], version: LibraryVersion) -> Snapshot | None:
        """``previous`` with the points of ``touched`` read back; None when that failed."""
        if not touched:
            return dataclasses.replace(previous, version=version)  # the version moved with nothing stored to read
        try:
            return await anyio.to_thread.run_sync(
                updated_snapshot, previous, self.store, touched, version, limiter=self._limiter
            )
        except Exception as exc:
            log.warning("library.snapshot_update_failed", error=str(exc))  # the whole store is read instead
            return None

    def _unexplained(self, snapshot: Snapshot) -> Snapshot | None:
        """``snapshot``, kept while the writer's records may still catch up with the version; None: read it all."""
        now = time.monotonic()
        if self._unexplained_since is None:
            self._unexplained_since = now
        if now - self._unexplained_since > UNEXPLAINED_GRACE_S:
            return None  # the version moved for more than the writer told of (another host, say)
        return snapshot


def _explains(snapshot: Snapshot, version: LibraryVersion) -> bool:
    """Whether the counts of ``version`` are those of ``snapshot`` (those it can check)."""
    if len(snapshot) != version.photos:
        return False
    return version.indexed < 0 or int((snapshot.status == 0).sum()) == version.indexed


__all__ = ["Catalog"]
