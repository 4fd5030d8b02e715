"""Where photos are kept: the ``VectorStore`` Protocol and its two adapters.

``EdgeStore`` embeds a qdrant-edge shard in the process (the default);
``ServerStore`` uses a Qdrant server or cluster. ``open_store`` picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photoindex.indexer.store._factory import open_store
from photoindex.indexer.store._protocol import (
    VECTOR_NAME,
    GeoBox,
    PhotoFilter,
    PhotoPoint,
    SearchHit,
    VectorStore,
)
from photoindex.indexer.store.edge import EdgeStore
from photoindex.indexer.store.payload import GeoPoint, PhotoPayload, payload_from_dict, payload_to_dict
from photoindex.indexer.store.points import META_POINT_ID, ancestor_dirs, point_id

if TYPE_CHECKING:
    from photoindex.indexer.store.server import ServerStore


def __getattr__(name: str) -> type[ServerStore]:
    # ServerStore on first use: qdrant-client takes ~0.5 s to import.
    if name == "ServerStore":
        from photoindex.indexer.store.server import ServerStore

        return ServerStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "META_POINT_ID",
    "VECTOR_NAME",
    "EdgeStore",
    "GeoBox",
    "GeoPoint",
    "PhotoFilter",
    "PhotoPayload",
    "PhotoPoint",
    "SearchHit",
    "ServerStore",
    "VectorStore",
    "ancestor_dirs",
    "open_store",
    "payload_from_dict",
    "payload_to_dict",
    "point_id",
]
