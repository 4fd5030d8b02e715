"""Multi-index hashing finds exactly the pairs a brute-force comparison finds, without comparing all pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photoindex.library.duplicates.near import flip_masks, near_pairs, popcount


def brute(hashes: np.ndarray, k: int) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i, j in itertools.combinations(range(len(hashes)), 2)
        if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= k
    }


def planted(n: int, seed: int, max_flips: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, np.iinfo(np.int64).max, size=n, dtype=np.int64).astype(np.uint64)
    hashes ^= rng.integers(0, 2, size=n, dtype=np.int64).astype(np.uint64) << np.uint64(63)
    for i in range(0, n // 5, 2):  # near copies at 0..max_flips bits
        flips = rng.choice(64, size=int(rng.integers(0, max_flips + 1)), replace=False)
        hashes[i + 1] = hashes[i] ^ np.uint64(sum(1 << int(b) for b in flips))
    return hashes


@pytest.mark.parametrize("k", [0, 3, 4, 7, 10, 12, 15])
def test_near_pairs_match_brute_force(k: int) -> None:
    hashes = planted(600, seed=k, max_flips=15)
    found = {tuple(p) for p in near_pairs(hashes, k).tolist()}
    assert found == brute(hashes, k)


def test_near_pairs_on_tiny_inputs() -> None:
    assert near_pairs(np.zeros(0, dtype=np.uint64), 10).shape == (0, 2)
    assert near_pairs(np.array([5], dtype=np.uint64), 10).shape == (0, 2)
    assert near_pairs(np.array([0, 1], dtype=np.uint64), 0).shape == (0, 2)
    assert near_pairs(np.array([0, 1], dtype=np.uint64), 1).tolist() == [[0, 1]]


def test_flip_masks_count_combinations() -> None:
    assert len(flip_masks(16, 0)) == 1
    assert len(flip_masks(16, 2)) == 1 + 16 + 120
    assert all(bin(int(m)).count("1") <= 3 for m in flip_masks(16, 3))


def test_popcount() -> None:
    values = np.array([0, 1, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0001], dtype=np.uint64)
    assert popcount(values).tolist() == [0, 1, 64, 2]
