"""What only the server adapter has: creation options, unreachable servers, foreign collections."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from photoindex.errors import ConfigError, ErrorCode, StoreError
from photoindex.indexer.store import EdgeStore, ServerStore, open_store


class RecordingClient(QdrantClient):
    """A real in-process client that remembers how the collection was created."""

    def __init__(self) -> None:
        super().__init__(location=":memory:")
        self.created: dict[str, Any] = {}
        self.indexed: list[str] = []

    def create_collection(self, collection_name: str, **kwargs: Any) -> bool:  # type: ignore[override]
        self.created = kwargs
        return super().create_collection(collection_name, **kwargs)

    def create_payload_index(self, collection_name: str, field_name: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.indexed.append(field_name)
        return super().create_payload_index(collection_name, field_name, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_creation_passes_sharding_replication_on_disk_and_quantization_through() -> None:
    client = RecordingClient()
    store = ServerStore(client, "photos", 8, shard_number=3, replication_factor=2, on_disk=True, quantization="scalar")
    try:
        assert client.created["shard_number"] == 3
        assert client.created["replication_factor"] == 2
        vector = client.created["vectors_config"]["image"]
        assert (vector.size, vector.distance, vector.on_disk) == (8, qm.Distance.COSINE, True)
        quantization = client.created["quantization_config"]
        assert isinstance(quantization, qm.ScalarQuantization)
        assert quantization.scalar.type == qm.ScalarType.INT8
        assert {"kind", "dirs", "path", "sha256", "taken_at_ts", "width", "location"} <= set(client.indexed)
    finally:
        store.close()


def test_defaults_leave_the_server_to_decide() -> None:
    client = RecordingClient()
    ServerStore(client, "photos", 8).close()
    assert client.created["shard_number"] is None
    assert client.created["replication_factor"] is None
    assert client.created["quantization_config"] is None
    assert client.created["vectors_config"]["image"].on_disk is None


def test_an_unknown_quantization_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="quantization"):
        ServerStore(QdrantClient(location=":memory:"), "photos", 8, quantization="pq")


def test_a_collection_without_the_named_vector_is_refused() -> None:
    client = QdrantClient(location=":memory:")
    client.create_collection("foreign", vectors_config=qm.VectorParams(size=8, distance=qm.Distance.COSINE))
    with pytest.raises(StoreError, match="no vector named 'image'"):
        ServerStore(client, "foreign", 8)


def test_a_collection_with_another_distance_is_refused() -> None:
    client = QdrantClient(location=":memory:")
    client.create_collection("dotty", vectors_config={"image": qm.VectorParams(size=8, distance=qm.Distance.DOT)})
    with pytest.raises(StoreError, match="cosine"):
        ServerStore(client, "dotty", 8)


def test_an_unreachable_server_is_a_store_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError) as err:
        ServerStore.connect(url, None, "photos", 8)
    assert err.value.code == ErrorCode.STORE
    assert url in err.value.message


def test_open_store_prefers_the_url_and_falls_back_to_the_path(tmp_path: Path) -> None:
    store = open_store(path=tmp_path, url=None, api_key=None, collection="photos", dim=8, on_disk=True)
    try:
        assert isinstance(store, EdgeStore)  # server options do not bother the embedded store
    finally:
        store.close()
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError) as err, pytest.warns(UserWarning, match="insecure"):
        open_store(path=tmp_path, url=url, api_key="k", collection="photos", dim=8)
    assert err.value.code == ErrorCode.STORE
    with pytest.raises(ConfigError):
        open_store(path=None, url=None, api_key=None, collection="photos", dim=8)
