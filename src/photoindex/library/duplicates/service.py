"""Duplicate groups of this host's photos per kind and thresholds, cached per library version."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import anyio
import msgspec

from photoindex.indexer.decoding.fingerprint import decode_fingerprint
from photoindex.indexer.store import VectorStore
from photoindex.library.catalog import Catalog
from photoindex.library.duplicates.dismissed import group_members_key
from photoindex.library.duplicates.grouping import DuplicateGroup
from photoindex.library.duplicates.live import LiveGroups
from photoindex.library.duplicates.near import DEFAULT_DISTANCE
from photoindex.library.duplicates.similar import DEFAULT_MIN_SCORE
from photoindex.library.jobs import Jobs
from photoindex.library.snapshot import Snapshot
from photoindex.library.version import LibraryVersion

DuplicateKind = Literal["exact", "near", "similar"]
_CACHED_RESULTS = 8
_FINGERPRINT_PAGE = 512


class DuplicateParams(msgspec.Struct, frozen=True):
    """What to look for; echoed back with every answer."""

    kind: DuplicateKind = "exact"
    max_distance: int = DEFAULT_DISTANCE  # near: Hamming bits between perceptual hashes
    min_score: float = DEFAULT_MIN_SCORE  # similar: cosine similarity of embeddings
    include_exact: bool = False  # near/similar: also groups whose members are all byte-identical

    @property
    def key(self) -> str:
        if self.kind == "exact":
            return "exact"
        if self.kind == "near":
            return f"near:{self.max_distance}:{self.include_exact}"
        return f"similar:{self.min_score:.4f}:{self.include_exact}"


@dataclass(frozen=True)
class DuplicateResult:
    """Groups for one set of params over one snapshot."""

    params: DuplicateParams
    snapshot: Snapshot
    groups: list[DuplicateGroup]
    seconds: float
    computed_at: float = field(default_factory=time.time)

    @property
    def version(self) -> LibraryVersion:
        return self.snapshot.version

    @cached_property
    def member_keys(self) -> list[str]:
        """Each group's name by its members (``members_key``), in the order of ``groups``; computed once."""
        return [group_members_key(self.snapshot, g) for g in self.groups]


@dataclass(frozen=True)
class DuplicateAnswer:
    """The newest result available (maybe none yet), and whether a newer one is on its way."""

    result: DuplicateResult | None
    computing: bool
    stale: bool
    progress: float | None = None
    error: str | None = None


class DuplicateFinder:
    """Runs the three detectors over the catalog's snapshot; one job per params at a time."""

    def __init__(
        self,
        catalog: Catalog,
        jobs: Jobs,
        store: VectorStore,
        *,
        host_id: str,
        limiter: anyio.CapacityLimiter | None = None,
    ):
        self._catalog = catalog
        self._host_id = host_id
        self._own: tuple[Snapshot, Snapshot] | None = None  # (the catalog's snapshot, its rows of this host)
        self._jobs = jobs
        self._store = store
        self._limiter = limiter
        self._results: OrderedDict[str, DuplicateResult] = OrderedDict()
        self._progress: dict[str, float] = {}
        self._live = LiveGroups()
        self._stopping = False

    async def find(self, params: DuplicateParams, *, wait_s: float = 0.0) -> DuplicateAnswer:
        deadline = time.monotonic() + wait_s
        snapshot, fresh = await self._catalog.snapshot(wait_s=wait_s)
        if snapshot is not None:
            snapshot = self._of_this_host(snapshot)
        cached = self._results.get(params.key)
        if snapshot is None:
            return DuplicateAnswer(cached, computing=True, stale=True)
        if cached is None or cached.snapshot is not snapshot:
            name = f"duplicates:{params.key}"
            remaining = max(0.0, deadline - time.monotonic())
            await self._jobs.start(name, lambda: self._compute(params, snapshot), wait_s=remaining)
            cached = self._results.get(params.key)
        name = f"duplicates:{params.key}"
        current = cached is not None and cached.snapshot is snapshot
        return DuplicateAnswer(
            cached,
            computing=self._jobs.running(name) or self._catalog.refreshing,
            stale=not (fresh and current),
            progress=self._progress.get(params.key) if self._jobs.running(name) else None,
            error=self._jobs.errors.get(name),
        )

    def knows(self, kind: DuplicateKind, key: str) -> bool | None:
        """Whether a group named ``key`` is in a computed answer of ``kind``; None when none is computed yet."""
        results = [r for r in self._results.values() if r.params.kind == kind]
        if not results:
            return None
        return any(key in r.member_keys for r in results)

    def _of_this_host(self, snapshot: Snapshot) -> Snapshot:
        """Duplicates are per host: another host's copy is not a file this one can remove."""
        if self._own is None or self._own[0] is not snapshot:
            self._own = (snapshot, snapshot.of_host(self._host_id))
        return self._own[1]

    def stop(self) -> None:
        """Ask a running similar-photo scan to give up (shutdown)."""
        self._stopping = True

    async def _compute(self, params: DuplicateParams, snapshot: Snapshot) -> None:
        started = time.perf_counter()
        self._progress[params.key] = 0.0

        def progress(fraction: float) -> None:
            self._progress[params.key] = round(fraction, 3)

        def run() -> list[DuplicateGroup]:
            if params.kind == "exact":
                return self._live.exact(snapshot)
            if params.kind == "near":
                return self._live.near(
                    snapshot,
                    max_distance=params.max_distance,
                    include_exact=params.include_exact,
                    fingerprints=lambda rows: stored_fingerprints(self._store, snapshot, rows),
                )
            return self._live.similar(
                self._store,
                snapshot,
                min_score=params.min_score,
                include_exact=params.include_exact,
                progress=progress,
                stop=lambda: self._stopping,
            )

        found = await anyio.to_thread.run_sync(run, limiter=self._limiter, abandon_on_cancel=True)
        groups = sorted(found, key=lambda g: group_key(snapshot, g))
        self._results[params.key] = DuplicateResult(params, snapshot, groups, time.perf_counter() - started)
        self._results.move_to_end(params.key)
        while len(self._results) > _CACHED_RESULTS:
            self._results.popitem(last=False)


def group_key(snapshot: Snapshot, group: DuplicateGroup) -> tuple[int, int, str]:
    """The total order of groups: most space to reclaim, then most members, then the keeper's id."""
    return (-group.reclaimable_bytes, -len(group.rows), snapshot.point_id(group.rows[0]))


def stored_fingerprints(store: VectorStore, snapshot: Snapshot, rows: Sequence[int]) -> list[bytes | None]:
    """The fingerprints of ``rows`` (None where a point has none), read from the store a page at a time."""
    ids = snapshot.point_ids(rows)
    found: dict[str, bytes | None] = {}
    for start in range(0, len(ids), _FINGERPRINT_PAGE):
        for point in store.retrieve(ids[start : start + _FINGERPRINT_PAGE]):
            found[point.id] = decode_fingerprint(point.payload.fingerprint)
    return [found.get(i) for i in ids]


__all__ = [
    "DuplicateAnswer",
    "DuplicateFinder",
    "DuplicateKind",
    "DuplicateParams",
    "DuplicateResult",
    "group_key",
    "stored_fingerprints",
]
