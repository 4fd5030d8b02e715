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

import msgspec
import numpy as np
from qdrant_client import QdrantClient

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.payloads import file_payload
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions
from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import IndexState, KnownFile
from photoindex.indexer.store import PhotoFilter, PhotoPoint, payload_from_dict
from photoindex.indexer.store.server import ServerStore

HOST = "test-host"
DIM = 8


def _no_model() -> object:
    raise AssertionError("nothing here needs a model")


@contextmanager
def open_pipeline(tmp_path: Path) -> Iterator[IndexPipeline]:
    store = ServerStore(QdrantClient(location=":memory:"), "photoindex_test", DIM)
    options = PipelineOptions(host_id=HOST, model_id="none", model_size=8, captions="off", thumbs_dir=tmp_path / "t")
    decoder = DecodePool(1)
    try:
        yield IndexPipeline(
            store=store,
            state=IndexState(HOST),
            decoder=decoder,
            models=ModelWorker(_no_model),  # type: ignore[arg-type]
            options=options,
        )
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
    pipeline.store.upsert([PhotoPoint(point_id, payload_from_dict(payload), vector)])
    known = KnownFile(point_id, facts.path, facts.root, facts.size, facts.mtime_ns, facts.inode, "indexed", sha256=None)
    pipeline.state.remember(known)
    return known


def stored_paths(pipeline: IndexPipeline) -> set[str]:
    return {p.payload.path for p in pipeline.store.scroll(flt=PhotoFilter())}
