"""Fit the 2-D map: UMAP in a worker process (numba compiled once, in the background), PCA for tiny libraries.

A large library is fitted on a sample; ``fit_sample`` also returns the
``Placer`` that puts every other photo (and every later one) on that map.

These functions run in the projection worker process. ``warm_up`` pays
numba's compile (tens of seconds on a small CPU, measured ~25 s on 2 cores)
on a throwaway fit, so the first real fit does not; ``NUMBA_CACHE_DIR`` keeps
what can be cached on disk for the next start.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoindex.library.projection.placement import Placement, Placer, build_placer, place
from photoindex.lifeline import bind_to_parent

# Below this many photos UMAP's neighbour graph is too thin to mean much; PCA is exact and instant.
MIN_UMAP_POINTS = 64
MAX_CLUSTERS = 24
_WARM_UP_POINTS = 200


@dataclass(frozen=True)
class FitOutput:
    """Coordinates in [0, 1] (one scale for both axes), cluster labels, and how they were made."""

    coords: np.ndarray  # float32 (n, 2)
    labels: np.ndarray  # int32 (n,)
    method: str  # "umap" | "pca"
    seconds: float


@dataclass(frozen=True)
class SampleFit:
    """A fit of a sample, and the placer that extends it to photos outside the sample."""

    output: FitOutput
    placer: Placer


def init_worker(numba_cache_dir: str | None) -> None:
    """Process initialiser: ends with the daemon; numba's on-disk cache under our cache dir; a low CPU priority."""
    bind_to_parent()
    if numba_cache_dir:
        Path(numba_cache_dir).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir)
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(10)  # a map refresh must never slow the indexer or a query


def warm_up() -> float:
    """Import UMAP and fit a small random set, compiling numba's functions; returns seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    _umap(rng.standard_normal((_WARM_UP_POINTS, 16)).astype(np.float32))
    return time.perf_counter() - started


def fit(vectors: np.ndarray, *, min_umap_points: int = MIN_UMAP_POINTS) -> FitOutput:
    """Project unit vectors (n, d) to 2-D and cluster the result."""
    started = time.perf_counter()
    n = int(vectors.shape[0])
    if n >= max(min_umap_points, 4):
        coords, method = _umap(vectors), "umap"
    else:
        coords, method = pca_2d(vectors), "pca"
    coords = normalise(coords)
    return FitOutput(coords, clusters(coords), method, time.perf_counter() - started)


def fit_sample(vectors: np.ndarray, *, min_umap_points: int = MIN_UMAP_POINTS) -> SampleFit:
    """``fit`` on a sample, then a placer for the rest of the library."""
    output = fit(vectors, min_umap_points=min_umap_points)
    return SampleFit(output, build_placer(vectors, output.coords, output.labels))


def place_chunk(placer: Placer, vectors: np.ndarray) -> Placement:
    """Place one chunk of photos on the fitted map (runs in the worker, at its low priority)."""
    return place(placer, vectors)


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components (zeros where there is no variance)."""
    n = int(vectors.shape[0])
    out = np.zeros((n, 2), dtype=np.float32)
    if n < 2:
        return out
    centred = vectors.astype(np.float64) - vectors.mean(axis=0)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    components = centred @ vt[: min(2, vt.shape[0])].T
    out[:, : components.shape[1]] = components
    return out


def normalise(coords: np.ndarray) -> np.ndarray:
    """Shift and scale into [0, 1] with one factor for both axes, so distances keep their shape."""
    if coords.shape[0] == 0:
        return coords.astype(np.float32)
    low = coords.min(axis=0)
    span = float((coords.max(axis=0) - low).max())
    scaled = (coords - low) / span if span > 0 else np.full_like(coords, 0.5)
    return scaled.astype(np.float32)


def clusters(coords: np.ndarray) -> np.ndarray:
    """k-means labels on the map (k grows with the square root of the library)."""
    n = int(coords.shape[0])
    k = int(min(MAX_CLUSTERS, max(1, round((n / 20) ** 0.5))))
    if n < 4 or k < 2:
        return np.zeros(n, dtype=np.int32)
    from sklearn.cluster import KMeans

    labels: np.ndarray = KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(coords)
    return labels.astype(np.int32)


def _umap(vectors: np.ndarray) -> np.ndarray:
    import umap  # slow first import: numba compiles (see warm_up)

    neighbours = int(min(15, vectors.shape[0] - 1))
    # No random_state: a seeded UMAP runs single-threaded. Unit vectors: euclidean orders like cosine.
    reducer = umap.UMAP(n_neighbors=neighbours, n_components=2, min_dist=0.1, metric="euclidean", low_memory=True)
    return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


__all__ = [
    "MIN_UMAP_POINTS",
    "FitOutput",
    "SampleFit",
    "clusters",
    "fit",
    "fit_sample",
    "init_worker",
    "normalise",
    "pca_2d",
    "place_chunk",
    "warm_up",
]
