"""Rebuilds the embedded store's vector index when enough new vectors came in and the daemon is quiet.

A build takes minutes of one low-priority core (``VectorIndexBuilder``), and
writes go on during it, so it need not stop when work arrives; it only
starts once nothing has happened for ``store.index_after_idle_s``, so that a
big import is indexed first and built once at its end. Whether one is due is
asked again only after the indexed total moved, since the count it needs
reads the whole store's vector flags.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import structlog

from photoindex.components import Components
from photoindex.indexer.store.edge import EdgeStore
from photoindex.indexer.store.guarded import GuardedStore
from photoindex.indexer.vector_index import BuildReport, IndexPolicy, VectorIndexBuilder

log = structlog.get_logger(__name__)

CHECK_S = 5.0
RETRY_AFTER_FAILURE_S = 3600.0  # a build that failed (a full disk, a crash) is not retried at every quiet moment


class IndexUpkeep:
    """Runs ``builder`` when due, while ``quiet()`` says the daemon had nothing to do for long enough."""

    def __init__(
        self, builder: VectorIndexBuilder, *, quiet: Callable[[], bool], indexed_total: Callable[[], int]
    ) -> None:
        self.builder = builder
        self._quiet = quiet
        self._indexed_total = indexed_total
        self.builds = 0
        self.last: BuildReport | None = None

    async def run(self) -> None:
        checked_at: int | None = None  # the indexed total when due() last said no
        while True:
            await anyio.sleep(CHECK_S)
            if not self._quiet() or self._indexed_total() == checked_at:
                continue
            total = self._indexed_total()
            if not await self.builder.due():
                checked_at = total
                continue
            try:
                self.last = await self.builder.build()
            except Exception as exc:
                log.warning("store.index_build_failed", error=str(exc))
                await anyio.sleep(RETRY_AFTER_FAILURE_S)
                continue
            self.builds += 1
            checked_at = None


def index_upkeep_for(
    parts: Components, *, busy: Callable[[], bool], idle_s: Callable[[], float], indexed_total: Callable[[], int]
) -> IndexUpkeep | None:
    """The upkeep of ``parts``' embedded store; None for a server store (it builds its own index) or when off."""
    settings = parts.settings.store
    store = parts.store.inner if isinstance(parts.store, GuardedStore) else parts.store
    if not settings.index_build or not isinstance(store, EdgeStore):
        return None
    policy = IndexPolicy(min_new=settings.index_min_new, new_fraction=settings.index_new_fraction)
    builder = VectorIndexBuilder(parts.pipeline.writer, store, policy)

    def quiet() -> bool:
        # A build copies the store (as much free disk again): never while the disk is short.
        return not busy() and idle_s() >= settings.index_after_idle_s and not parts.gate.read_only

    return IndexUpkeep(builder, quiet=quiet, indexed_total=indexed_total)


__all__ = ["IndexUpkeep", "index_upkeep_for"]
