"""The 2-D map of the library: the last fit is served at once, a new one is fitted in the background.

A request never waits for a fit. It gets the newest map (kept on disk, so a
restarted daemon has one at once) with ``stale`` when the library has changed
since and ``computing`` while a fit runs. Fits run in one worker process (UMAP
holds the GIL and compiles with numba; neither may stall the server), at most
one at a time and spaced out so a busy library is not re-fitted continuously.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path

import anyio
import msgspec
import numpy as np
import structlog

from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoFilter, VectorStore
from photoindex.library.catalog import Catalog
from photoindex.library.jobs import Jobs
from photoindex.library.projection import fitting
from photoindex.library.version import LibraryVersion

log = structlog.get_logger(__name__)

# Fits are spaced by at least this, and by twice the last fit's duration (a third of a core at most).
MIN_REFIT_INTERVAL_S = 60.0
_JOB = "projection"


class ProjectionMap(msgspec.Struct, frozen=True):
    """One fitted map: parallel columns over the photos it covers."""

    ids: list[str]
    x: list[float]
    y: list[float]
    clusters: list[int]
    method: str
    version_key: str
    photos: int
    computed_at: str
    seconds: float


def map_key(version: LibraryVersion) -> str:
    """What a map depends on: the indexed vectors (captions and failures do not move it)."""
    return f"{version.indexed}.{version.activity}.{version.generation}"


class ProjectionService:
    """Serves the newest map and refits it when the library moved on."""

    def __init__(
        self,
        catalog: Catalog,
        jobs: Jobs,
        store: VectorStore,
        *,
        cache_file: Path | None = None,
        numba_cache_dir: Path | None = None,
        min_umap_points: int = fitting.MIN_UMAP_POINTS,
        min_interval_s: float = MIN_REFIT_INTERVAL_S,
        warm_up: bool = True,
        idle_release_s: float = 300.0,
    ) -> None:
        self._catalog = catalog
        self._jobs = jobs
        self._store = store
        self._cache_file = cache_file
        self._numba_cache_dir = str(numba_cache_dir) if numba_cache_dir else None
        self._min_umap_points = min_umap_points
        self._min_interval_s = min_interval_s
        self._warm_up = warm_up
        self._executor: ProcessPoolExecutor | None = None
        self._idle_release_s = idle_release_s
        self._release_timer: threading.Timer | None = None
        self._map: ProjectionMap | None = self._load()
        self._last_fit_end = 0.0
        self._last_fit_s = 0.0
        self.warmed_s: float | None = None

    def start(self) -> None:
        """Start the worker and compile UMAP in it now, in the background."""
        if self._warm_up:
            self._pool().submit(fitting.warm_up).add_done_callback(self._warmed)

    def close(self) -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
        executor, self._executor = self._executor, None
        if executor is not None:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()  # a fit in progress is worthless once we stop
            executor.shutdown(wait=False, cancel_futures=True)

    async def current(self) -> tuple[ProjectionMap | None, bool, bool]:
        """(map, stale, computing); starts a fit in the background when one is due."""
        key = map_key(await self._catalog.version())
        if not self._fresh(key) and not self._jobs.running(_JOB) and self._due():
            await self._jobs.start(_JOB, lambda: self._fit(key))
        return self._map, not self._fresh(key), self._jobs.running(_JOB)

    def _fresh(self, key: str) -> bool:
        return self._map is not None and self._map.version_key == key

    @property
    def error(self) -> str | None:
        return self._jobs.errors.get(_JOB)

    def _due(self) -> bool:
        if self._map is None:
            return True
        spacing = max(self._min_interval_s, 2 * self._last_fit_s)
        return time.monotonic() - self._last_fit_end >= spacing

    async def _fit(self, key: str) -> None:
        ids, vectors = await anyio.to_thread.run_sync(self._vectors)
        try:
            if vectors.shape[0] >= self._min_umap_points:
                output = await self._in_worker(vectors)
            else:
                output = await anyio.to_thread.run_sync(
                    lambda: fitting.fit(vectors, min_umap_points=self._min_umap_points)
                )
        finally:
            self._last_fit_end = time.monotonic()
        self._last_fit_s = output.seconds
        self._map = ProjectionMap(
            ids=ids,
            x=[round(v, 5) for v in output.coords[:, 0].tolist()],
            y=[round(v, 5) for v in output.coords[:, 1].tolist()],
            clusters=output.labels.tolist(),
            method=output.method,
            version_key=key,
            photos=len(ids),
            computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(output.seconds, 3),
        )
        await anyio.to_thread.run_sync(self._save, self._map)
        log.info("library.projection_fitted", photos=len(ids), method=output.method, seconds=round(output.seconds, 2))

    def _vectors(self) -> tuple[list[str], np.ndarray]:
        ids: list[str] = []
        rows: list[np.ndarray] = []
        points = self._store.scroll(
            flt=PhotoFilter(statuses=(PhotoStatus.INDEXED,)), with_vectors=True, fields=("sha256",)
        )
        for point in points:
            if point.vector is not None:
                ids.append(point.id)
                rows.append(point.vector)
        # Map pages are in photo-id order, so a cursor (the last id served) stays exact across refits.
        order = sorted(range(len(ids)), key=ids.__getitem__)
        ids, rows = [ids[i] for i in order], [rows[i] for i in order]
        matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, self._store.dim), dtype=np.float32)
        return ids, matrix

    async def _in_worker(self, vectors: np.ndarray) -> fitting.FitOutput:
        try:
            try:
                future = self._pool().submit(fitting.fit, vectors, min_umap_points=self._min_umap_points)
            except RuntimeError:  # the pool was just released after the warm-up: take a fresh one
                future = self._pool().submit(fitting.fit, vectors, min_umap_points=self._min_umap_points)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self.close()  # the next fit starts a fresh worker
            raise
        finally:
            self._release_when_idle()

    def _release_when_idle(self) -> None:
        """Let the worker go after ``idle_release_s`` without a fit: an idle daemon keeps no
        UMAP process (~450 MB resident). A later fit compiles again (~18 s here, in the
        background), so a library that keeps changing keeps its warm worker."""
        if self._release_timer is not None:
            self._release_timer.cancel()
        if self._idle_release_s <= 0:
            return
        self._release_timer = threading.Timer(self._idle_release_s, self._release)
        self._release_timer.daemon = True
        self._release_timer.start()

    def _release(self) -> None:
        if self._jobs.running(_JOB):
            self._release_when_idle()  # a fit is under way: look again later
            return
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
            log.info("library.projection_worker_released")

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: the parent holds torch and threads, which fork would copy half-initialised.
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=fitting.init_worker,
                initargs=(self._numba_cache_dir,),
            )
        return self._executor

    def _warmed(self, future: object) -> None:
        try:
            self.warmed_s = float(future.result())  # type: ignore[attr-defined]
            log.info("library.projection_warmed", seconds=round(self.warmed_s, 1))
        except Exception as exc:
            log.warning("library.projection_warm_up_failed", error=str(exc))
        finally:
            self._release_when_idle()

    def _load(self) -> ProjectionMap | None:
        if self._cache_file is None or not self._cache_file.is_file():
            return None
        try:
            return _by_id(msgspec.msgpack.decode(self._cache_file.read_bytes(), type=ProjectionMap))
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("library.projection_cache_unreadable", path=str(self._cache_file), error=str(exc))
            return None

    def _save(self, projection: ProjectionMap) -> None:
        if self._cache_file is None:
            return
        self._cache_file.parent.mkdir(parents=True, exist_ok=True)
        temp = self._cache_file.with_suffix(".tmp")
        temp.write_bytes(msgspec.msgpack.encode(projection))
        temp.replace(self._cache_file)


def _by_id(projection: ProjectionMap) -> ProjectionMap:
    """The map with its columns in photo-id order (a map saved by an older version may not be)."""
    ids = projection.ids
    if all(a < b for a, b in itertools.pairwise(ids)):
        return projection
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return msgspec.structs.replace(
        projection,
        ids=[ids[i] for i in order],
        x=[projection.x[i] for i in order],
        y=[projection.y[i] for i in order],
        clusters=[projection.clusters[i] for i in order],
    )


__all__ = ["ProjectionMap", "ProjectionService", "map_key"]
