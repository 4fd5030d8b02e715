"""Placing photos on a fitted map from their nearest anchors, and the map's compact file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photoindex.library.projection import map_file
from photoindex.library.projection.fitting import normalise, pca_2d
from photoindex.library.projection.map_file import ProjectionMap
from photoindex.library.projection.placement import build_placer, place


def clustered(n: int, *, clusters: int = 4, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around ``clusters`` well-separated centres, and which centre each came from."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)) * 4
    labels = rng.integers(0, clusters, n)
    vectors = centres[labels] + rng.standard_normal((n, dim)) * 0.3
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels.astype(np.int32)


def test_every_photo_outside_the_sample_lands_among_its_own_cluster() -> None:
    vectors, truth = clustered(600)
    sample = slice(0, 200)
    coords = normalise(pca_2d(vectors[sample]))  # any fit will do: placing only reads where the sample went
    placer = build_placer(vectors[sample], coords, truth[sample], anchors=150, dims=8)
    placed = place(placer, vectors[200:])
    assert placed.coords.shape == (400, 2) and not np.isnan(placed.coords).any()
    # Weighted means of fitted points stay inside the fitted map's [0, 1] box.
    assert float(placed.coords.min()) >= 0.0 and float(placed.coords.max()) <= 1.0
    assert (placed.labels == truth[200:]).mean() > 0.95
    # Each placed photo is nearer its own cluster's centre on the map than any other cluster's.
    centres = np.stack([coords[truth[sample] == c].mean(axis=0) for c in range(4)])
    nearest = np.linalg.norm(placed.coords[:, None, :] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == truth[200:]).mean() > 0.95


def test_placing_more_rows_than_one_step_gives_the_same_places_as_one_at_a_time() -> None:
    vectors, truth = clustered(3000, seed=1)
    placer = build_placer(vectors[:300], normalise(pca_2d(vectors[:300])), truth[:300], anchors=300, dims=8)
    together = place(placer, vectors[300:])
    alone = np.concatenate([place(placer, vectors[i : i + 1]).coords for i in (300, 1500, 2999)])
    # float32 sums in a different grouping: equal to well under a pixel of a 10k-pixel map
    np.testing.assert_allclose(together.coords[[0, 1200, 2699]], alone, atol=1e-5)


def small_map(ids: list[str]) -> ProjectionMap:
    vectors, truth = clustered(len(ids), seed=2)
    coords = normalise(pca_2d(vectors))
    return ProjectionMap(
        ids=np.array([i.encode() for i in ids]),
        x=coords[:, 0],
        y=coords[:, 1],
        clusters=truth,
        method="umap",
        version_key="3.0.0",
        computed_at="2026-01-01T00:00:00+00:00",
        seconds=0.5,
        fitted=len(ids),
        fit_photos=len(ids),
        placer=build_placer(vectors, coords, truth, anchors=len(ids), dims=4),
    )


def test_the_map_file_keeps_columns_and_placer(tmp_path: Path) -> None:
    original = small_map(["a1", "b2", "c3"])
    map_file.save(original, tmp_path / "map.npz")
    loaded = map_file.load(tmp_path / "map.npz")
    assert loaded.page(0, 3)[0] == ["a1", "b2", "c3"] and loaded.version_key == "3.0.0"
    np.testing.assert_array_equal(loaded.x, original.x)  # written and read as the same float32 bits
    assert loaded.placer is not None and original.placer is not None
    np.testing.assert_array_equal(loaded.placer.anchors, original.placer.anchors)


def test_changes_keep_photo_id_order_and_count_the_drift() -> None:
    original = small_map(["a", "c", "e"])
    assert original.placer is not None
    vectors, _truth = clustered(2, seed=3)
    added = place(original.placer, vectors)
    changed = original.with_changes(np.array([True, False, True]), np.array([b"b", b"f"]), added, "5.0.0")
    assert changed.page(0, 10)[0] == ["a", "b", "e", "f"]
    assert (changed.placed, changed.removed, changed.version_key) == (2, 1, "5.0.0")
    assert changed.index_after("c") == 2 and changed.index_after("a") == 1  # a cursor past a removed id holds
