"""The map's fallbacks for small libraries: PCA, normalisation into [0, 1], clusters."""

from __future__ import annotations

import numpy as np

from photoindex.library.projection.fitting import clusters, fit, normalise, pca_2d


def test_pca_and_normalise() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((30, 8)).astype(np.float32)
    out = fit(vectors, min_umap_points=64)
    assert out.method == "pca" and out.coords.shape == (30, 2)
    assert float(out.coords.min()) >= 0.0 and float(out.coords.max()) == 1.0
    assert out.labels.shape == (30,)


def test_degenerate_inputs() -> None:
    assert pca_2d(np.zeros((0, 4), np.float32)).shape == (0, 2)
    assert pca_2d(np.ones((1, 4), np.float32)).tolist() == [[0.0, 0.0]]
    assert normalise(np.zeros((3, 2), np.float32)).tolist() == [[0.5, 0.5]] * 3
    assert clusters(np.zeros((2, 2), np.float32)).tolist() == [0, 0]
