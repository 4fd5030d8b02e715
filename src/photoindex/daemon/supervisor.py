"""The composition root: settings → paths → store → model worker → decoder → pipeline.

Nothing else constructs these; everything else is handed what it needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from photoindex.config import AppPaths, ModelSettings, Settings
from photoindex.daemon.disk_space import DiskSpace
from photoindex.daemon.read_only import ReadOnlyGate
from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache
from photoindex.indexer.identity import load_host_id
from photoindex.indexer.models.ids import ClipSpec, clip_spec
from photoindex.indexer.models.openmp import prefer_passive_waits
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.payloads import now_iso
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import VectorStore, open_store
from photoindex.indexer.store.guarded import GuardedStore
from photoindex.indexer.writer import IndexWriter

if TYPE_CHECKING:
    from pathlib import Path

    from photoindex.daemon.model_process import ModelProcess
    from photoindex.indexer.models.captioner import Captioner
    from photoindex.indexer.models.embedder import ImageEmbedder

log = structlog.get_logger(__name__)


@dataclass
class Components:
    """Everything an indexing run or the daemon works with."""

    settings: Settings
    paths: AppPaths
    spec: ClipSpec
    host_id: str
    store: VectorStore
    models: ModelWorker
    decoder: DecodePool
    pipeline: IndexPipeline
    thumbnails: ThumbnailCache
    gate: ReadOnlyGate  # writes wait (the store refuses them) while the disk is short


def open_index_store(settings: Settings, paths: AppPaths, spec: ClipSpec) -> VectorStore:
    """Open (or create) the collection for the configured model and record what it holds."""
    st = settings.store
    store = open_store(
        path=paths.store_dir if st.url is None else None,
        url=st.url,
        api_key=st.api_key,
        collection=spec.collection,
        dim=spec.dim,
        shard_number=st.shard_number,
        replication_factor=st.replication_factor,
        on_disk=st.on_disk,
        quantization=st.quantization,
    )
    meta = store.get_meta()
    if not meta:
        store.set_meta(
            {"model_id": spec.model_id, "dim": spec.dim, "random_weights": spec.random_weights, "created_at": now_iso()}
        )
    if spec.random_weights:
        log.warning(
            "models.random_weights_index",
            collection=spec.collection,
            detail="this index holds vectors from UNTRAINED models: for tests and benchmarks only",
        )
    return store


def load_embedder_for(model: ModelSettings, cache_dir: Path) -> ImageEmbedder:
    """Build the configured CLIP embedder in its backend (imports torch); ONNX exports go under ``cache_dir``."""
    prefer_passive_waits()
    from photoindex.indexer.models.backends import load_embedder

    return load_embedder(model, cache_dir)


def load_captioner_for(model: ModelSettings) -> Captioner:
    """Build the configured BLIP captioner (imports torch)."""
    prefer_passive_waits()
    from photoindex.indexer.models.captioner import load_blip

    device = "cpu" if model.quantize == "int8" else model.device  # int8 layers are CPU kernels
    return load_blip(
        model.caption_model, "random" if model.weights == "random" else None, device, quantize=model.quantize
    )


def build_model_worker(settings: Settings) -> ModelWorker:
    """A model worker whose loaders read the model settings; nothing loads until first use."""
    model = settings.model
    cache_dir = AppPaths.from_settings(settings).cache_dir

    def load_embedder() -> ImageEmbedder:
        return load_embedder_for(model, cache_dir)

    def load_captioner() -> Captioner:
        return load_captioner_for(model)

    return ModelWorker(load_embedder, load_captioner if model.captions != "off" else None, batch_size=model.batch_size)


def build_daemon_model_worker(settings: Settings, *, log_level: str = "warning") -> tuple[ModelWorker, ModelProcess]:
    """The daemon's model worker: models in a child process, unloaded (the child ends) when idle."""
    from photoindex.daemon.model_process import ModelProcess, RemoteCaptioner, RemoteEmbedder

    model = settings.model
    host = ModelProcess(model, AppPaths.from_settings(settings).cache_dir, log_level=log_level)

    def load_embedder() -> ImageEmbedder:
        return RemoteEmbedder(host)

    def load_captioner() -> Captioner:
        return RemoteCaptioner(host)

    worker = ModelWorker(
        load_embedder,
        load_captioner if model.captions != "off" else None,
        batch_size=model.batch_size,
        idle_unload_s=model.idle_unload_s,
    )
    return worker, host


@contextmanager
def open_components(settings: Settings, *, models: ModelWorker | None = None) -> Iterator[Components]:
    """Build the indexing components; closes them (store last) on exit.

    ``models``: a model worker to use instead of an in-process one (the daemon's
    runs the models in a child process); it is closed on exit all the same.
    """
    paths = AppPaths.from_settings(settings)
    paths.ensure()
    spec = clip_spec(settings.model)
    thumbnails = build_thumbnail_cache(settings, paths)
    gate = build_gate(settings, paths, thumbnails)
    with ExitStack() as stack:
        raw_store = open_index_store(settings, paths, spec)
        stack.callback(raw_store.close)
        store = GuardedStore(raw_store, gate.refusal)
        models = models or build_model_worker(settings)
        stack.callback(models.close)
        workers = settings.model.decode_workers or (os.cpu_count() or 2)
        decoder = DecodePool(workers, timeout_s=settings.model.decode_timeout_s)
        stack.callback(decoder.close)
        host_id = load_host_id(paths.data_dir)
        options = PipelineOptions(
            host_id=host_id,
            model_id=spec.model_id,
            model_size=spec.image_size,
            captions=settings.model.captions,
            batch_size=settings.model.batch_size,  # 0: the model worker's probed size
            max_wait_s=settings.model.max_wait_ms / 1000,
            decode_concurrency=workers + 1,
            thumbs_dir=paths.cache_dir,
            max_pixels=settings.model.max_pixels,
            geo=GeoLookup(),  # loads its data at the first photo with GPS
        )
        writer = IndexWriter(store, IndexState(host_id))  # the one writer of the store
        pipeline = IndexPipeline(writer=writer, decoder=decoder, models=models, options=options)
        yield Components(settings, paths, spec, host_id, store, models, decoder, pipeline, thumbnails, gate)


def build_thumbnail_cache(settings: Settings, paths: AppPaths) -> ThumbnailCache:
    return ThumbnailCache(paths.cache_dir, max_bytes=settings.cache.max_mb * 1_000_000)


def build_gate(settings: Settings, paths: AppPaths, thumbnails: ThumbnailCache | None) -> ReadOnlyGate:
    """The free-space watch over the data (when the store is embedded), cache and state folders."""
    local = settings.store.url is None
    folders = [paths.store_dir.parent if local else paths.data_dir, paths.cache_dir, paths.state_dir]
    space = DiskSpace(folders, min_free_mb=settings.store.min_free_mb)
    return ReadOnlyGate(space, thumbnails, store_dir=paths.store_dir if local else None)
