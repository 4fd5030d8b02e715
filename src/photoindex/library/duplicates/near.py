"""Near duplicates: photos whose 64-bit perceptual hashes differ in at most k bits.

No N×N comparison: multi-index hashing. Split each hash into four 16-bit
chunks; by the pigeonhole principle two hashes within k bits agree to within
⌊k/4⌋ bits on at least one chunk. For each chunk and each flip mask of at
most ⌊k/4⌋ bits, a sorted column and ``searchsorted`` find the candidates;
only those are compared in full. At 100k photos with k = 10 that is ~550
vectorised passes, about a second on two cores (bench/duplicates.py).

Hashes of low-information images (flat colour, a few bands) are not
comparable: the DCT median split ties and the hash carries few bits of the
picture (such hashes have far from 32 bits set; every real photo in the
corpus has exactly 32). They take part in exact grouping only.

A hash match is a candidate, not a verdict: with ``fingerprints`` each
candidate pair of contents is verified (``verify.same_shot``) before it is
joined, so other shots of one scene (a chart shot by several cameras, a
burst) stay apart; those belong to the "similar" kind. Only candidates'
fingerprints are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np

from photoindex.library.duplicates.grouping import (
    DuplicateGroup,
    UnionFind,
    keeper_order,
    make_group,
    one_content,
    ranked,
)
from photoindex.library.duplicates.verify import same_shot
from photoindex.library.snapshot import Snapshot

# Snapshot rows → their fingerprints (None where a photo has none); the finder reads them from the store.
Fingerprints = Callable[[Sequence[int]], Sequence[bytes | None]]

CHUNKS = 4
CHUNK_BITS = 16
MAX_DISTANCE = 15  # ⌊15/4⌋ = 3 bits per chunk: 697 masks; beyond that a hash says little anyway
DEFAULT_DISTANCE = 10  # measured on the corpus: precision and recall in README / bench/duplicates.py
# A real photo's hash has 32 bits set (a median split of 64 coefficients); far from it means ties.
MIN_SET_BITS, MAX_SET_BITS = 24, 40
_BLOCK = 16384  # candidates are expanded this many query hashes at a time, to bound memory
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(values: np.ndarray) -> np.ndarray:
    """Set bits per uint64."""
    counts: np.ndarray
    if hasattr(np, "bitwise_count"):
        counts = np.bitwise_count(values).astype(np.int64)
    else:
        as_bytes = values.astype(np.uint64).view(np.uint8).reshape(-1, 8)
        counts = _POPCOUNT8[as_bytes].sum(axis=1, dtype=np.int64)
    return counts


def flip_masks(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-wide mask with at most ``radius`` bits set."""
    masks = [0]
    for r in range(1, radius + 1):
        masks.extend(sum(1 << b for b in combo) for combo in combinations(range(bits), r))
    return np.array(masks, dtype=np.uint64)


def near_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of hashes within ``max_distance`` bits; shape (m, 2)."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    if hashes.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    found = [np.zeros((0, 2), dtype=np.int64)]
    masks = flip_masks(CHUNK_BITS, max_distance // CHUNKS).astype(np.int64).tolist()
    for chunk in range(CHUNKS):
        column = ((hashes >> np.uint64(chunk * CHUNK_BITS)) & np.uint64(0xFFFF)).astype(np.int64)
        # Bucket table: the hashes with chunk value v are by_chunk[starts[v]:starts[v] + sizes[v]].
        order = np.argsort(column, kind="stable")
        by_chunk = hashes[order]
        sizes = np.bincount(column, minlength=1 << CHUNK_BITS)
        starts = np.cumsum(sizes) - sizes
        for mask in masks:
            for start in range(0, column.size, _BLOCK):
                pairs = _block_pairs(hashes, column, order, by_chunk, sizes, starts, mask, start, max_distance)
                if pairs is not None:
                    found.append(pairs)
    pairs = np.concatenate(found)
    return np.unique(pairs, axis=0) if pairs.size else pairs


def _block_pairs(
    hashes: np.ndarray,
    column: np.ndarray,
    order: np.ndarray,
    by_chunk: np.ndarray,
    sizes: np.ndarray,
    starts: np.ndarray,
    mask: int,
    start: int,
    max_distance: int,
) -> np.ndarray | None:
    """Pairs within ``max_distance`` among the block's hashes and those whose chunk is theirs with ``mask`` flipped.

    A pair of buckets ``v`` and ``v ^ mask`` is walked from its lower side only,
    and a bucket with itself (mask 0) keeps ``i < j``: each pair is compared once
    per chunk, not twice.
    """
    block = column[start : start + _BLOCK]
    target = block ^ mask
    queries = np.flatnonzero(target > block) if mask else np.arange(block.size)
    target = target[queries]
    counts = sizes[target]
    ends = np.cumsum(counts)
    total = int(ends[-1]) if ends.size else 0
    if total == 0:
        return None
    positions = np.arange(total) + np.repeat(starts[target] - (ends - counts), counts)
    hits = np.flatnonzero(_within(np.repeat(hashes[start + queries], counts) ^ by_chunk[positions], max_distance))
    if hits.size == 0:
        return None
    i = start + queries[np.searchsorted(ends, hits, side="right")]
    j = order[positions[hits]]
    if not mask:
        keep = i < j
        i, j = i[keep], j[keep]
    return np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1)


def _within(values: np.ndarray, max_distance: int) -> np.ndarray:
    """Which uint64 values have at most ``max_distance`` bits set."""
    if hasattr(np, "bitwise_count"):
        within: np.ndarray = np.bitwise_count(values) <= max_distance
        return within
    return popcount(values) <= max_distance


def comparable(snapshot: Snapshot) -> np.ndarray:
    """Rows whose perceptual hash is present and informative."""
    bits = popcount(snapshot.phash)
    return np.flatnonzero(snapshot.has_phash & (bits >= MIN_SET_BITS) & (bits <= MAX_SET_BITS))


def near_groups(
    snapshot: Snapshot,
    *,
    max_distance: int = DEFAULT_DISTANCE,
    include_exact: bool = False,
    fingerprints: Fingerprints | None = None,
) -> list[DuplicateGroup]:
    """Photos within ``max_distance`` bits of each other, chained (union-find), most space first.

    With ``fingerprints``, a candidate pair is joined only when its fingerprints
    say it is one shot. A group whose members all hold the same bytes is an
    exact group and is left out unless ``include_exact``. Each member's
    closeness is its distance in bits to the keeper.
    """
    components = near_components(snapshot, comparable(snapshot), max_distance, fingerprints)
    groups = [near_group(snapshot, members) for members in components]
    return ranked([g for g in groups if include_exact or not one_content(snapshot, list(g.rows))])


def near_components(
    snapshot: Snapshot, rows: np.ndarray, max_distance: int, fingerprints: Fingerprints | None
) -> list[list[int]]:
    """The sets of two or more of ``rows`` (comparable ones) chained within ``max_distance`` bits, verified."""
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise ValueError(f"max_distance must be 0-{MAX_DISTANCE}")
    if rows.size < 2:
        return []
    unique, inverse = np.unique(snapshot.phash[rows], return_inverse=True)
    pairs = near_pairs(unique, max_distance)
    if fingerprints is None:
        sets = UnionFind(unique.size)
        sets.union_pairs(pairs)
        root_of = [sets.find(h) for h in inverse.ravel().tolist()]
    else:
        root_of = _verified_roots(snapshot, rows, inverse.ravel(), pairs, fingerprints)
    by_root: dict[int, list[int]] = {}
    for row, root in zip(rows.tolist(), root_of, strict=True):
        by_root.setdefault(root, []).append(row)
    return [members for members in by_root.values() if len(members) > 1]


def near_group(snapshot: Snapshot, members: list[int]) -> DuplicateGroup:
    """The group of ``members``, each with its distance in bits to the keeper as its closeness."""
    ordered = keeper_order(snapshot, members)
    distances = popcount(snapshot.phash[ordered] ^ snapshot.phash[ordered[0]])
    return make_group(snapshot, ordered, dict(zip(ordered, distances.tolist(), strict=True)))


def _verified_roots(
    snapshot: Snapshot, rows: np.ndarray, hash_of: np.ndarray, pairs: np.ndarray, fingerprints: Fingerprints
) -> list[int]:
    """A set id per position of ``rows``: candidates joined where their fingerprints agree.

    Files with the same bytes are one content and join without a look; contents
    sharing a hash, and contents of hash pairs, are compared.
    """
    contents: dict[tuple[int, bytes], int] = {}  # (hash index, sha256) → first position holding it
    content_of = []
    for position, (row, h) in enumerate(zip(rows.tolist(), hash_of.tolist(), strict=True)):
        content_of.append(contents.setdefault((h, snapshot.sha256[row].tobytes()), position))
    by_hash: dict[int, list[int]] = {}
    for (h, _sha), position in contents.items():
        by_hash.setdefault(h, []).append(position)
    candidates: list[tuple[int, int]] = []
    for group in by_hash.values():
        candidates += [(a, b) for i, a in enumerate(group) for b in group[i + 1 :]]
    for u, v in pairs.tolist():
        candidates += [(a, b) for a in by_hash[u] for b in by_hash[v]]
    needed = sorted({p for pair in candidates for p in pair})
    prints = dict(zip(needed, fingerprints([int(rows[p]) for p in needed]), strict=True))
    sets = UnionFind(rows.size)
    for position, first in enumerate(content_of):
        sets.union(position, first)
    for a, b in candidates:
        if sets.find(a) != sets.find(b) and same_shot(prints[a], prints[b]):
            sets.union(a, b)
    return [sets.find(p) for p in range(rows.size)]


__all__ = [
    "DEFAULT_DISTANCE",
    "MAX_DISTANCE",
    "Fingerprints",
    "comparable",
    "flip_masks",
    "near_components",
    "near_group",
    "near_groups",
    "near_pairs",
    "popcount",
]
