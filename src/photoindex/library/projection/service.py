"""The 2-D map of the library: the last fit is served at once, a new one is fitted in the background.

A request never waits for a fit. It gets the newest map (kept on disk, so a
restarted daemon has one at once) with ``stale`` when the library has changed
since and ``computing`` while a fit or an update runs. Fits run in one worker
process (UMAP holds the GIL and compiles with numba; neither may stall the
server), at most one at a time and spaced out so a busy library is not
re-fitted continuously.

A large library is fitted on a sample, and every other photo is placed on that
map from its nearest sample photos, its vectors streamed to the worker a chunk
at a time. New photos are placed the same way without a refit; once the photos
placed or removed since the fit reach ``drift_share`` of the fitted library,
the next update refits.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

import anyio
import numpy as np
import structlog

from photoindex.indexer.store import VectorStore
from photoindex.library.catalog import Catalog
from photoindex.library.jobs import Jobs
from photoindex.library.projection import fitting, map_file, store_reading
from photoindex.library.projection.map_file import ProjectionMap
from photoindex.library.projection.placement import Placement, Placer
from photoindex.library.version import LibraryVersion

log = structlog.get_logger(__name__)

# Fits are spaced by at least this, and by twice the last fit's duration (a third of a core at most).
MIN_REFIT_INTERVAL_S = 60.0
# UMAP's cost grows faster than linearly; 50k photos fit in about a minute on 2 cores and hold
# the library's clusters well (bench/projection.py). Everything beyond is placed, not fitted.
SAMPLE_SIZE = 50_000
# Refit once this share of the fitted library has come or gone since the fit.
DRIFT_SHARE = 0.2
# Vectors per chunk streamed to the worker: 16k x 512 float32 is 32 MB.
CHUNK_ROWS = 16_384
_PLACE_HERE_ROWS = 2_048
_JOB = "projection"
P = ParamSpec("P")
T = TypeVar("T")


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
        sample_size: int = SAMPLE_SIZE,
        drift_share: float = DRIFT_SHARE,
        chunk_rows: int = CHUNK_ROWS,
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
        self._sample_size = sample_size
        self._drift_share = drift_share
        self._chunk_rows = chunk_rows
        self._map: ProjectionMap | None = self._load()
        self._last_fit_end = 0.0
        self._last_fit_s = 0.0
        self.warmed_s: float | None = None
        self.fits = 0  # full fits made by this service (placing new photos is not one)

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
        """(map, stale, computing); starts an update or a fit in the background when one is due."""
        key = map_key(await self._catalog.version())
        if not self._jobs.running(_JOB) and self._wants_work(key):
            await self._jobs.start(_JOB, lambda: self._refresh(key))
        return self._map, not self._fresh(key), self._jobs.running(_JOB)

    def _wants_work(self, key: str) -> bool:
        current = self._map
        if current is None:
            return True
        if not self._fresh(key):
            # New photos are placed at once on a fitted map; a map without a placer waits for its next fit.
            return current.placer is not None or self._due()
        return self._drifted(current) and self._due()

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

    async def _refresh(self, key: str) -> None:
        """Bring the map to ``key``: place new photos on the fitted map, or refit when it has drifted."""
        current = self._map
        if current is None or current.placer is None or (self._drifted(current) and self._due()):
            await self._fit(key)
            return
        ids = await anyio.to_thread.run_sync(store_reading.indexed_ids, self._store)
        kept = np.isin(current.ids, ids)
        new_ids = ids[~np.isin(ids, current.ids)]
        drift = current.placed + new_ids.size + current.removed + int(kept.size - np.count_nonzero(kept))
        if drift >= self._drift_share * max(current.fit_photos, 1) and self._due():
            await self._fit(key)
            return
        started = time.perf_counter()
        found, placement = await self._place_new(current.placer, new_ids)
        self._map = current.with_changes(kept, found, placement, key)
        await anyio.to_thread.run_sync(self._save, self._map)
        log.info(
            "library.projection_placed",
            added=int(found.size),
            removed=int(kept.size - np.count_nonzero(kept)),
            drift=drift,
            ms=round((time.perf_counter() - started) * 1000),
        )

    async def _place_new(self, placer: Placer, new_ids: np.ndarray) -> tuple[np.ndarray, Placement]:
        """Place photos new since the fit, reading and placing a chunk of them at a time."""
        found: list[np.ndarray] = []
        coords: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for start in range(0, new_ids.size, self._chunk_rows):
            chunk = new_ids[start : start + self._chunk_rows]
            ids, vectors = await anyio.to_thread.run_sync(store_reading.vectors_of, self._store, chunk)
            if ids.size <= _PLACE_HERE_ROWS:  # a few photos: placing them here beats waking the worker
                placement = await anyio.to_thread.run_sync(fitting.place_chunk, placer, vectors)
            else:
                placement = await self._in_worker(fitting.place_chunk, placer, vectors)
            found.append(ids)
            coords.append(placement.coords)
            labels.append(placement.labels)
        if not found:
            return new_ids, Placement(np.zeros((0, 2), np.float32), np.zeros(0, np.int32))
        return np.concatenate(found), Placement(np.concatenate(coords), np.concatenate(labels))

    def _drifted(self, projection: ProjectionMap) -> bool:
        """Enough photos came or went since the fit that the fitted sample no longer speaks for the library."""
        changed = projection.placed + projection.removed
        return projection.placer is not None and changed >= self._drift_share * max(projection.fit_photos, 1)

    async def _fit(self, key: str) -> None:
        started = time.perf_counter()
        try:
            self._map = await self._fitted_map(key)
        finally:
            self._last_fit_end = time.monotonic()
        self._last_fit_s = time.perf_counter() - started
        self.fits += 1
        await anyio.to_thread.run_sync(self._save, self._map)
        log.info(
            "library.projection_fitted",
            photos=self._map.photos,
            fitted=self._map.fitted,
            method=self._map.method,
            seconds=round(self._last_fit_s, 2),
        )

    async def _fitted_map(self, key: str) -> ProjectionMap:
        """Fit a sample of the library (all of it when small), then place every other photo, a chunk at a time."""
        started = time.perf_counter()
        ids = await anyio.to_thread.run_sync(store_reading.indexed_ids, self._store)
        chosen = ids
        if ids.size > self._sample_size:
            picks = np.random.default_rng(ids.size).choice(ids.size, size=self._sample_size, replace=False)
            chosen = ids[np.sort(picks)]
        sample_ids, sample = await anyio.to_thread.run_sync(store_reading.vectors_of, self._store, chosen)
        if sample.shape[0] >= self._min_umap_points:
            fitted = await self._in_worker(fitting.fit_sample, sample, min_umap_points=self._min_umap_points)
        else:
            fitted = await anyio.to_thread.run_sync(
                functools.partial(fitting.fit_sample, sample, min_umap_points=self._min_umap_points)
            )
        del sample
        output = fitted.output
        placer = fitted.placer if output.method == "umap" else None  # a PCA map is refitted whole: it is instant
        x = np.full(ids.size, np.nan, dtype=np.float32)
        y = np.full(ids.size, np.nan, dtype=np.float32)
        labels = np.zeros(ids.size, dtype=np.int32)
        rows = np.searchsorted(ids, sample_ids)
        x[rows], y[rows], labels[rows] = output.coords[:, 0], output.coords[:, 1], output.labels
        if placer is not None and sample_ids.size < ids.size:
            await self._place_the_rest(placer, ids, sample_ids, x, y, labels)
        placed = ~np.isnan(x)  # a photo removed while the fit ran has no place: it is left out
        return ProjectionMap(
            ids=ids[placed],
            x=x[placed],
            y=y[placed],
            clusters=labels[placed],
            method=output.method,
            version_key=key,
            computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started, 3),
            fitted=int(sample_ids.size),
            fit_photos=int(np.count_nonzero(placed)),
            placer=placer,
        )

    async def _place_the_rest(
        self,
        placer: Placer,
        ids: np.ndarray,
        sample_ids: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        labels: np.ndarray,
    ) -> None:
        """Stream the library's vectors through the worker in chunks, filling the rows of photos outside the sample."""
        chunks = store_reading.vector_chunks(self._store, self._chunk_rows)
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
            chunk_ids, vectors = chunk
            rows = np.minimum(np.searchsorted(ids, chunk_ids), max(ids.size - 1, 0))
            # Rows outside the sample, of photos known when the fit began (a later one waits for the next update).
            wanted = (ids[rows] == chunk_ids) & ~np.isin(chunk_ids, sample_ids)
            if not wanted.any():
                continue
            placement = await self._in_worker(fitting.place_chunk, placer, vectors[wanted])
            rows = rows[wanted]
            x[rows], y[rows], labels[rows] = placement.coords[:, 0], placement.coords[:, 1], placement.labels

    async def _in_worker(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            try:
                future = self._pool().submit(fn, *args, **kwargs)
            except RuntimeError:  # the pool was just released after the warm-up: take a fresh one
                future = self._pool().submit(fn, *args, **kwargs)
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
            return map_file.load(self._cache_file)
        except (OSError, ValueError) as exc:
            log.warning("library.projection_cache_unreadable", path=str(self._cache_file), error=str(exc))
            return None

    def _save(self, projection: ProjectionMap) -> None:
        if self._cache_file is not None:
            map_file.save(projection, self._cache_file)


__all__ = ["ProjectionMap", "ProjectionService", "map_key"]
