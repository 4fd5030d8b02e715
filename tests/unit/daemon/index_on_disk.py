"""A real index for daemon unit tests: the server store adapter over qdrant's in-process mode (quick to
open, unlike the embedded store's shard), the real pipeline and state.

Nothing is decoded or embedded: photos are put in the index as a finished
run would leave them (a point with a vector and the file's stat), so
re-pointing, removing and adopting run against a real store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from weakref import WeakKeyDictionary

import msgspec
import numpy as np
from qdrant_client import QdrantClient

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.payloads import file_payload
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import IndexState, KnownFile
from photoindex.indexer.store import PhotoFilter, PhotoPoint, VectorStore, payload_from_dict
from photoindex.indexer.store.server import ServerStore
from photoindex.indexer.writer import IndexWriter

HOST = "test-host"
DIM = 8


# The store under each open pipeline: photos are put there directly, as a finished run leaves them.
_stores: WeakKeyDictionary[IndexPipeline, VectorStore] = WeakKeyDictionary()


def _no_model() -> object:
    raise AssertionError("nothing here needs a model")


@contextmanager
def open_pipeline(tmp_path: Path) -> Iterator[IndexPipeline]:
    store = ServerStore(QdrantClient(location=":memory:"), "photoindex_test", DIM)
    options = PipelineOptions(host_id=HOST, model_id="none", model_size=8, captions="off", thumbs_dir=tmp_path / "t")
    decoder = DecodePool(1)
    try:
        pipeline = IndexPipeline(
            writer=IndexWriter(store, IndexState(HOST)),
            decoder=decoder,
            models=ModelWorker(_no_model),  # type: ignore[arg-type]
            options=options,
        )
        _stores[pipeline] = store
        yield pipeline
    finally:
        decoder.close()
        store.close()


def facts_of(path: Path, root: Path) -> FileFacts:
    st = os.stat(path, follow_symlinks=False)
    return FileFacts(path=str(path), root=str(root), size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


def put_photo(pipeline: IndexPipeline, path: Path, root: Path | str) -> KnownFile:
    """Write ``path`` (unless it exists) and put it in the index as indexed, under ``root`` ("" for none)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(path.name.encode() * 10)
    facts = msgspec.structs.replace(facts_of(path, path), root=str(root))
    point_id = pipeline.state.id_for(facts.path)
    vector = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    payload = {**file_payload(facts, host_id=HOST), "status": "indexed"}
    _stores[pipeline].upsert([PhotoPoint(point_id, payload_from_dict(payload), vector)])
    known = KnownFile(point_id, facts.path, facts.root, facts.size, facts.mtime_ns, facts.inode, "indexed", sha256=None)
    pipeline.state.remember(known)
    return known


def stored_paths(pipeline: IndexPipeline) -> set[str]:
    return {p.payload.path for p in _stores[pipeline].scroll(flt=PhotoFilter())}


def store_of(pipeline: IndexPipeline) -> VectorStore:
    """The store under a pipeline from ``open_pipeline`` (read it to see what was written)."""
    return _stores[pipeline]
