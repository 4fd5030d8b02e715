"""``open_store``: the embedded store or a Qdrant server, as settings say."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict, Unpack

from photoindex.errors import ConfigError
from photoindex.indexer.store._protocol import VectorStore


class ServerOptions(TypedDict, total=False):
    """How a server creates a new collection (``ServerStore.connect``'s keywords)."""

    shard_number: int | None
    replication_factor: int | None
    on_disk: bool
    quantization: str | None


def open_store(
    *,
    path: Path | None,
    url: str | None,
    api_key: str | None,
    collection: str,
    dim: int,
    **server_options: Unpack[ServerOptions],
) -> VectorStore:
    """A ``ServerStore`` when ``url`` is set (it wins over ``path``), else an ``EdgeStore`` under ``path``.

    ``server_options`` (shard_number, replication_factor, on_disk, quantization)
    only apply to a server; the embedded store ignores them.
    """
    if url is not None:
        # Imported here: qdrant-client takes about half a second to import,
        # which the embedded default should not pay.
        from photoindex.indexer.store.server import ServerStore

        return ServerStore.connect(url, api_key, collection, dim, **server_options)
    if path is None:
        raise ConfigError(["store: neither a path nor a url is set"])
    from photoindex.indexer.store.edge import EdgeStore

    return EdgeStore.open(Path(path), collection, dim)
