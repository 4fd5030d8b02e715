"""What the controllers work with, built once per app from the collaborators ``create_app`` is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

import anyio

from photoindex.config import AppPaths, Settings
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.ids import ClipSpec
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.store import VectorStore
from photoindex.indexer.writer import IndexWriter
from photoindex.library import (
    Browser,
    Catalog,
    DuplicateFinder,
    Inbox,
    Jobs,
    PhotoFiles,
    ProjectionService,
    QueryEncoder,
    Rejected,
    Searcher,
    UploadedQueries,
    WatchedFolders,
)
from photoindex.library.duplicates.dismissed import DismissedGroups
from photoindex.library.paging import Pinned, PinnedQuery
from photoindex.library.place_index import PlaceIndexCache
from photoindex.library.timeline import Timeline


class ReportedProblem(Protocol):
    """One problem in the daemon's status record: where, and why."""

    @property
    def where(self) -> str: ...

    @property
    def reason(self) -> str: ...


class DaemonReport(Protocol):
    """What the API reads of the daemon's status record (``daemon.status.DaemonStatus``, a msgspec struct
    that ``/status`` returns whole); the daemon sits above the API, so only its shape is known here."""

    @property
    def state(self) -> str: ...

    @property
    def health(self) -> str: ...

    @property
    def problems(self) -> Sequence[ReportedProblem]: ...

    @property
    def failures_by_code(self) -> Mapping[str, int]: ...


StatusHook = Callable[[], DaemonReport]
T = TypeVar("T")
RescanHook = Callable[[str], Awaitable[None]]


class DaemonControl(Protocol):
    """What the API asks of the daemon it runs in: its status, folder scans, and changes to the watched folders."""

    def status(self) -> DaemonReport:
        """The daemon's status record (``/status``, ``/ready``)."""
        ...

    async def rescan(self, folder: str) -> None:
        """Queue a scan of ``folder`` (``/ingest/scan``)."""
        ...

    async def set_roots(self, folders: tuple[str, ...]) -> None:
        """The watched folders changed (``/folders``)."""
        ...

    async def release_root(self, folder: str, purge: bool) -> int:
        """Keep (``purge=False``) or remove a removed folder's photos; returns how many."""
        ...


@dataclass
class ApiServices:
    """The API's collaborators; one instance per app, handed to every handler."""

    settings: Settings
    paths: AppPaths
    spec: ClipSpec
    store: VectorStore
    models: ModelWorker
    jobs: Jobs
    catalog: Catalog
    encoder: QueryEncoder
    uploads: UploadedQueries
    searcher: Searcher
    duplicates: DuplicateFinder
    dismissed: DismissedGroups  # duplicate groups marked "not duplicates", per kind
    projection: ProjectionService
    photos: PhotoFiles
    folders: WatchedFolders
    browser: Browser
    inbox: Inbox
    store_limiter: anyio.CapacityLimiter  # reads of the store
    writer: IndexWriter  # every write of the store
    decode_limiter: anyio.CapacityLimiter
    decoder: DecodePool | None = None
    status: StatusHook | None = None
    rescan_hook: RescanHook | None = None
    api_key: str | None = None
    # Queries by fingerprint: every page of a query ranks by one vector and one set of caption matches.
    pinned: Pinned[PinnedQuery] = field(default_factory=Pinned)
    # The timeline's sorted columns, one per snapshot and order, so a page costs a mask and a binary search.
    timeline: Timeline = field(default_factory=Timeline)
    # The library's places, rebuilt from each new snapshot: what text queries' place names resolve against.
    place_index: PlaceIndexCache = field(default_factory=PlaceIndexCache)
    # "Today" for relative dates in queries ("yesterday", "last summer"): the server's local date; tests set it.
    today: Callable[[], date] = date.today

    def daemon_status(self) -> DaemonReport | None:
        """The daemon's status record; None without a daemon, or when it fails to report."""
        if self.status is None:
            return None
        try:
            return self.status()
        except Exception:
            return None

    async def rescan(self, folder: str) -> None:
        if self.rescan_hook is None:
            raise Rejected("no indexer runs in this process (start `photoindex serve`)", reason="unavailable")
        await self.rescan_hook(folder)

    async def in_store(self, call: Callable[[], T]) -> T:
        """Run a blocking store call off the event loop."""
        return await anyio.to_thread.run_sync(call, limiter=self.store_limiter)


__all__ = ["ApiServices", "DaemonControl", "DaemonReport", "ReportedProblem", "RescanHook", "StatusHook"]
