"""Incremental exact and near groups equal a from-scratch grouping after any sequence of adds, changes and removes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photoindex.library.captions_index import CaptionIndex
from photoindex.library.duplicates import exact_groups, near_groups
from photoindex.library.duplicates.exact_live import LiveExactGroups
from photoindex.library.duplicates.grouping import DuplicateGroup
from photoindex.library.duplicates.live import LiveGroups
from photoindex.library.duplicates.near_live import LiveNearGroups
from photoindex.library.duplicates.snapshot_diff import snapshot_diff
from photoindex.library.snapshot import Snapshot
from photoindex.library.version import LibraryVersion

# A few base hashes with 32 bits set, and photos a few bits off them: near pairs, chains and strangers.
_RNG = np.random.default_rng(11)
BASES: list[int] = []
for _ in range(4):
    bits = _RNG.permutation(np.repeat(np.array([0, 1], dtype=np.uint64), 32))
    BASES.append(int((bits << np.arange(64, dtype=np.uint64)).sum(dtype=np.uint64)))
FLAT = 0x0000_0000_0000_00FF  # 8 bits set: a low-information hash, never compared
# Known contents (sha → base, flips, shot): equal bytes have one hash and one fingerprint, as real files do.
# Near copies of one shot, another shot a few bits off, and a copy beyond the smaller threshold.
CONTENTS = {1: (0, (), 0), 2: (0, (3,), 0), 3: (0, (5, 9), 1), 4: (1, (), 2), 5: (1, tuple(range(8)), 2)}


@dataclass(frozen=True)
class Photo:
    """One photo's grouping fields, drawn small so that collisions are common."""

    sha: int  # 0: unknown content (its own hash, no fingerprint); else a key of CONTENTS
    base: int  # index into BASES, or -1: no perceptual hash, or -2: a flat one
    flips: tuple[int, ...]  # bits flipped off the base
    size: int
    pixels: int
    mtime: int

    @property
    def fingerprint(self) -> bytes | None:
        if self.sha == 0:
            return None
        shot = CONTENTS[self.sha][2]
        return np.random.default_rng(1000 + shot).integers(0, 256, 1024, dtype=np.uint8).tobytes()

    @property
    def phash(self) -> int | None:
        base, flips = (self.base, self.flips) if self.sha == 0 else CONTENTS[self.sha][:2]
        if base == -1:
            return None
        value = FLAT if base == -2 else BASES[base]
        for bit in flips:
            value ^= 1 << bit
        return value


photos = st.builds(
    Photo,
    sha=st.integers(0, len(CONTENTS)),
    base=st.integers(-2, len(BASES) - 1),
    flips=st.lists(st.integers(0, 63), max_size=6).map(tuple),
    size=st.integers(1, 4),
    pixels=st.integers(1, 3),
    mtime=st.integers(0, 3),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), photos, st.integers(0, 10**6)),
        st.tuples(st.just("remove"), st.integers(0, 10**6)),
        st.tuples(st.just("change"), st.integers(0, 10**6), photos),
    ),
    min_size=1,
    max_size=12,
)


def take(library: dict[bytes, Photo], generation: int) -> Snapshot:
    """The snapshot of ``library`` (point id → photo), rows in point-id order as the catalog keeps them."""
    ids = sorted(library)
    items = [library[i] for i in ids]
    sha = b"".join(p.sha.to_bytes(32, "big") for p in items)
    return Snapshot(
        version=LibraryVersion(len(ids), len(ids), 0, generation=generation),
        ids=np.frombuffer(b"".join(ids), dtype="V16"),
        status=np.zeros(len(ids), dtype=np.uint8),
        size=np.array([p.size for p in items], dtype=np.int64),
        width=np.array([p.pixels for p in items], dtype=np.int32),
        height=np.ones(len(ids), dtype=np.int32),
        mtime_ns=np.array([p.mtime for p in items], dtype=np.int64),
        sha256=np.frombuffer(sha, dtype="V32"),
        phash=np.array([p.phash or 0 for p in items], dtype=np.uint64),
        has_phash=np.array([p.phash is not None for p in items], dtype=bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
    )


def prints_of(library: dict[bytes, Photo], snapshot: Snapshot) -> Callable[[Sequence[int]], list[bytes | None]]:
    def read(rows: Sequence[int]) -> list[bytes | None]:
        return [library[snapshot.ids[r].tobytes()].fingerprint for r in rows]

    return read


def canonical(snapshot: Snapshot, groups: list[DuplicateGroup]) -> list[tuple[object, ...]]:
    return sorted(
        (tuple(snapshot.point_ids(g.rows)), g.closeness, g.keeper_reason, g.reclaimable_bytes) for g in groups
    )


def apply(library: dict[bytes, Photo], operation: tuple[object, ...], rng: np.random.Generator) -> None:
    kind = operation[0]
    if kind == "add":
        library[rng.bytes(16)] = operation[1]  # type: ignore[assignment]
    elif library:
        victim = sorted(library)[int(operation[1]) % len(library)]  # type: ignore[call-overload]
        if kind == "remove":
            del library[victim]
        else:
            library[victim] = operation[2]  # type: ignore[assignment]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.lists(photos, max_size=14), steps=st.lists(operations, min_size=1, max_size=4), seed=st.integers(0, 99))
def test_incremental_groups_equal_a_full_grouping(
    start: list[Photo], steps: list[list[tuple[object, ...]]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    library = {rng.bytes(16): p for p in start}
    snapshot = take(library, 0)
    exact = LiveExactGroups(snapshot)
    near = LiveNearGroups(snapshot, 10, prints_of(dict(library), snapshot))
    plain = LiveNearGroups(snapshot, 6, None)
    for generation, batch in enumerate(steps, start=1):
        for operation in batch:
            apply(library, operation, rng)
        snapshot = take(library, generation)
        prints = prints_of(dict(library), snapshot)
        exact.update(snapshot)
        near.update(snapshot, prints)
        plain.update(snapshot, None)
        assert canonical(snapshot, exact.groups) == canonical(snapshot, exact_groups(snapshot))
        for include_exact in (False, True):
            full = near_groups(snapshot, max_distance=10, include_exact=include_exact, fingerprints=prints)
            assert canonical(snapshot, near.groups(include_exact=include_exact)) == canonical(snapshot, full)
            unverified = near_groups(snapshot, max_distance=6, include_exact=include_exact)
            assert canonical(snapshot, plain.groups(include_exact=include_exact)) == canonical(snapshot, unverified)


def test_a_diff_names_the_new_the_changed_and_the_removed_rows() -> None:
    ids = sorted(uuid.uuid4().bytes for _ in range(5))
    photo = Photo(sha=1, base=0, flips=(), size=1, pixels=1, mtime=0)
    before = {i: photo for i in ids[:4]}
    after = {**before, ids[4]: photo, ids[1]: replace(photo, size=2)}
    del after[ids[2]]
    diff = snapshot_diff(take(before, 0), take(after, 1))
    assert diff is not None
    assert diff.old_to_new.tolist() == [0, -1, -1, 2]
    assert diff.removed.tolist() == [1, 2]
    assert diff.added.tolist() == [1, 3]


def test_the_finder_state_follows_snapshots_and_survives_a_threshold_change() -> None:
    rng = np.random.default_rng(3)
    photo = Photo(sha=1, base=0, flips=(), size=1, pixels=1, mtime=0)
    library = {rng.bytes(16): photo, rng.bytes(16): replace(photo, sha=2)}
    live = LiveGroups(near_states=1)
    first = take(library, 0)
    assert len(live.near(first, max_distance=10, include_exact=False, fingerprints=None)) == 1
    assert live.near(first, max_distance=0, include_exact=False, fingerprints=None) == []
    library[rng.bytes(16)] = replace(photo, sha=0, flips=(5,))
    second = take(library, 1)
    (group,) = live.near(second, max_distance=10, include_exact=False, fingerprints=None)
    assert len(group.rows) == 3
    assert canonical(second, live.exact(second)) == canonical(second, exact_groups(second))
