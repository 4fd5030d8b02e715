"""A large library is fitted on a sample; new photos are placed without a refit; drift brings a refit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import numpy as np
import pytest
from tests.unit.library.test_projection_placement import clustered

from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, VectorStore, point_id
from photoindex.library import Catalog, Jobs
from photoindex.library.projection import ProjectionMap, ProjectionService

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

HOST = "host-m"
DIM = 16


def add_photos(store: VectorStore, first: int, count: int) -> None:
    vectors, _truth = clustered(first + count, dim=DIM, seed=5)
    store.upsert(
        [
            PhotoPoint(
                point_id(HOST, f"/lib/{i}.jpg"),
                PhotoPayload(path=f"/lib/{i}.jpg", host_id=HOST, status="indexed"),
                vectors[i],
            )
            for i in range(first, first + count)
        ]
    )


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[ProjectionService, VectorStore]]:
    store = EdgeStore.open(tmp_path / "store", "projection-test", DIM)
    jobs = Jobs()
    projection = ProjectionService(
        Catalog(store, jobs, version_check_s=0.0),
        jobs,
        store,
        cache_file=tmp_path / "map.npz",
        min_umap_points=40,
        min_interval_s=0.0,
        idle_release_s=0,
        sample_size=80,
        drift_share=0.2,
        chunk_rows=64,  # several chunks even in a small library: the streaming path is the one tested
    )
    async with anyio.create_task_group() as tg:
        jobs.attach(tg)
        projection.start()  # numba compiles now, so fits are timed without it and spaced by their own length
        with anyio.fail_after(240):
            while projection.warmed_s is None:
                await anyio.sleep(0.05)
        yield projection, store
        projection.close()
        jobs.attach(None)
        tg.cancel_scope.cancel()
    store.close()


async def settled(projection: ProjectionService, *, fits: int | None = None) -> ProjectionMap:
    """The map once it covers the library as it is now (and, given ``fits``, once that many fits were made)."""
    with anyio.fail_after(120):
        while True:
            current, stale, computing = await projection.current()
            if current is not None and not stale and not computing and projection.fits == (fits or projection.fits):
                return current
            await anyio.sleep(0.05)


async def test_sample_fit_places_every_photo_then_new_ones_without_a_refit_until_drift(
    service: tuple[ProjectionService, VectorStore],
) -> None:
    projection, store = service
    add_photos(store, 0, 200)
    fitted = await settled(projection)
    assert (fitted.method, fitted.fitted, fitted.photos, projection.fits) == ("umap", 80, 200, 1)
    assert not np.isnan(fitted.x).any() and not np.isnan(fitted.y).any()
    assert float(min(fitted.x.min(), fitted.y.min())) >= 0.0 and float(max(fitted.x.max(), fitted.y.max())) <= 1.0
    every = {point_id(HOST, f"/lib/{i}.jpg") for i in range(200)}
    assert set(fitted.page(0, 200)[0]) == every

    add_photos(store, 200, 5)  # 5 of 200: under the drift share
    updated = await settled(projection)
    assert projection.fits == 1 and (updated.placed, updated.photos, updated.fitted) == (5, 205, 80)
    assert point_id(HOST, "/lib/204.jpg") in updated.page(0, 205)[0]

    add_photos(store, 205, 40)  # 45 placed since the fit: past 20 % of the 200 fitted
    refitted = await settled(projection, fits=2)  # once spaced from the last fit, the drift calls for a refit
    assert projection.fits == 2 and (refitted.placed, refitted.photos) == (0, 245)

    restarted = ProjectionService(
        projection._catalog, projection._jobs, store, cache_file=projection._cache_file, warm_up=False
    )
    kept = await settled(restarted)  # the saved map, current already: no fit in the new service
    assert restarted.fits == 0 and kept.photos == 245 and kept.placer is not None
