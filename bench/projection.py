"""The first map of a large library: time, the map worker's peak RSS, and the daemon side's RSS meanwhile.

    .venv/bin/python bench/projection.py --n 100000             # 100k photos, dim 512
    .venv/bin/python bench/projection.py --n 1000000 --keep DIR # 1M (the store is kept in DIR to rerun)

Fills the embedded store with N unit vectors from a mixture of Gaussians on the
sphere (a few thousand clusters, as CLIP vectors are clustered), then runs the
``ProjectionService`` as the daemon does: the worker is warmed first (numba's
compile is paid at start, not by the fit), then the first map is made and
timed. The worker's peak is the kernel's high-water mark (``VmHWM``); the
parent's is sampled. Prints a table and writes JSON
(default ``bench/results/projection-<time>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import anyio
import numpy as np

from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, point_id
from photoindex.library import Catalog, Jobs
from photoindex.library.projection import ProjectionService
from photoindex.library.projection.service import SAMPLE_SIZE

REPO = Path(__file__).resolve().parent.parent
DIM = 512
MB = 1 << 20
_WRITE_BATCH = 2_000


def clustered_unit_vectors(rng: np.random.Generator, n: int, centres: np.ndarray) -> np.ndarray:
    """``n`` unit vectors, each near one of ``centres`` (spread 0.35 around a unit centre, as CLIP's clusters)."""
    picks = rng.integers(0, centres.shape[0], n)
    vectors = centres[picks] + rng.standard_normal((n, centres.shape[1]), dtype=np.float32) * (0.35 / DIM**0.5)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def fill(store: EdgeStore, n: int, clusters: int) -> float:
    """Write ``n`` points in batches; returns seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    for start in range(0, n, _WRITE_BATCH):
        vectors = clustered_unit_vectors(rng, min(_WRITE_BATCH, n - start), centres)
        store.upsert(
            [
                PhotoPoint(
                    point_id("bench", f"/photos/{(start + i) // 1000:04d}/{start + i}.jpg"),
                    PhotoPayload(
                        path=f"/photos/{(start + i) // 1000:04d}/{start + i}.jpg", host_id="bench", status="indexed"
                    ),
                    vector,
                )
                for i, vector in enumerate(vectors)
            ]
        )
    return time.perf_counter() - started


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakSampler:
    """The largest ``VmRSS`` of this process seen while running, read every 50 ms."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_kb = max(self.peak_kb, _status_kb(os.getpid(), "VmRSS"))


async def first_map(store: EdgeStore, sample_size: int) -> dict[str, float]:
    jobs = Jobs()
    service = ProjectionService(
        Catalog(store, jobs), jobs, store, min_interval_s=0.0, idle_release_s=0, sample_size=sample_size
    )
    async with anyio.create_task_group() as tg:
        jobs.attach(tg)
        service.start()
        while service.warmed_s is None:
            await anyio.sleep(0.1)
        worker = next(iter(service._pool()._processes))  # the one worker process
        with PeakSampler() as parent:
            started = time.perf_counter()
            while True:
                current, stale, computing = await service.current()
                if current is not None and not stale and not computing:
                    break
                if service.error:
                    raise RuntimeError(service.error)
                await anyio.sleep(0.2)
            seconds = time.perf_counter() - started
        worker_peak_kb = _status_kb(worker, "VmHWM")
        service.close()
        jobs.attach(None)
        tg.cancel_scope.cancel()
    return {
        "photos": current.photos,
        "fitted": current.fitted,
        "first_map_s": round(seconds, 1),
        "warm_up_s": round(service.warmed_s, 1),
        "worker_peak_rss_mb": round(worker_peak_kb / 1024),
        "parent_peak_rss_mb": round(parent.peak_kb / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="photos (default 100k)")
    parser.add_argument("--clusters", type=int, default=2_000, help="Gaussians in the mixture")
    parser.add_argument("--sample", type=int, default=SAMPLE_SIZE, help="photos fitted by UMAP")
    parser.add_argument("--keep", type=Path, help="keep the store here (reused when it already holds N photos)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        where = args.keep or Path(temp)
        store = EdgeStore.open(where / "store", "bench_projection", DIM)
        try:
            fill_s = 0.0 if store.count() == args.n else fill(store, args.n, args.clusters)
            result = {"n": args.n, "dim": DIM, "sample": args.sample, "fill_s": round(fill_s, 1)}
            result |= anyio.run(first_map, store, args.sample)
        finally:
            store.close()
    for key, value in result.items():
        print(f"{key:>20}  {value}")
    out = args.out or REPO / "bench" / "results" / f"projection-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
