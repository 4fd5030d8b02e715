"""The exact, near and similar groups the finder keeps between snapshots, brought up to date, not recomputed.

One exact state, a near state per distance threshold (the few most
recently asked for: each holds four chunk tables over the library), and one
set of similar-photo neighbour lists for every score threshold. A state
is used by one computation at a time (a lock per state: the finder runs one
job per params, and two params share a near state). A state whose update
failed half way is dropped, and the next answer computes from scratch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from photoindex.indexer.store import VectorStore
from photoindex.library.duplicates.exact_live import LiveExactGroups
from photoindex.library.duplicates.grouping import DuplicateGroup
from photoindex.library.duplicates.near import Fingerprints
from photoindex.library.duplicates.near_live import LiveNearGroups
from photoindex.library.duplicates.similar_live import LiveSimilarLinks
from photoindex.library.snapshot import Snapshot

# Near states kept (thresholds asked for lately); each costs ~40 bytes per photo.
NEAR_STATES = 2


class LiveGroups:
    """Incremental exact and near groups, keyed by what they depend on."""

    def __init__(self, near_states: int = NEAR_STATES) -> None:
        self._lock = threading.Lock()  # guards the two dicts below, not the states
        self._exact: LiveExactGroups | None = None
        self._exact_lock = threading.Lock()
        self._near: OrderedDict[int, tuple[threading.Lock, LiveNearGroups | None]] = OrderedDict()
        self._near_states = near_states
        self._similar: LiveSimilarLinks | None = None  # one for every threshold: links keep their scores
        self._similar_lock = threading.Lock()

    def exact(self, snapshot: Snapshot) -> list[DuplicateGroup]:
        """Exact groups of ``snapshot`` (blocking: run it in a thread)."""
        with self._exact_lock:
            live, self._exact = self._exact, None  # dropped unless the update completes
            if live is None:
                live = LiveExactGroups(snapshot)
            elif live.snapshot is not snapshot:
                live.update(snapshot)
            self._exact = live
            return live.groups

    def similar(
        self,
        store: VectorStore,
        snapshot: Snapshot,
        *,
        min_score: float,
        include_exact: bool,
        progress: Callable[[float], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[DuplicateGroup]:
        """Similar groups of ``snapshot``: only photos not searched yet are searched (blocking: run it in a thread).

        Stopped half way, the neighbours found so far stay for the next pass.
        """
        with self._similar_lock:
            if self._similar is None:
                self._similar = LiveSimilarLinks(snapshot)
            elif self._similar.snapshot is not snapshot:
                self._similar.move_to(snapshot)
            self._similar.search(store, progress=progress, stop=stop)
            return self._similar.groups(min_score=min_score, include_exact=include_exact)

    def near(
        self, snapshot: Snapshot, *, max_distance: int, include_exact: bool, fingerprints: Fingerprints | None
    ) -> list[DuplicateGroup]:
        """Near groups of ``snapshot`` within ``max_distance`` bits (blocking: run it in a thread)."""
        with self._lock:
            entry = self._near.get(max_distance)
            if entry is None:
                entry = (threading.Lock(), None)
                self._near[max_distance] = entry
            self._near.move_to_end(max_distance)
            while len(self._near) > self._near_states:
                self._near.popitem(last=False)
        lock = entry[0]
        with lock:
            live = self._take(max_distance, lock)
            if live is None:
                live = LiveNearGroups(snapshot, max_distance, fingerprints)
            elif live.snapshot is not snapshot:
                live.update(snapshot, fingerprints)
            with self._lock:
                if max_distance in self._near and self._near[max_distance][0] is lock:
                    self._near[max_distance] = (lock, live)
            return live.groups(include_exact=include_exact)

    def _take(self, max_distance: int, lock: threading.Lock) -> LiveNearGroups | None:
        """The state under ``lock``, left out of the table until its update completes."""
        with self._lock:
            entry = self._near.get(max_distance)
            if entry is None or entry[0] is not lock:
                return None
            self._near[max_distance] = (lock, None)
            return entry[1]


__all__ = ["LiveGroups"]
