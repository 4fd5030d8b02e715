"""The composition root: settings → paths → store → writer → model worker → decoder → pipeline → API.

``photoindex serve``, ``index`` and ``search`` all build their parts here,
with the folders worked out once (``AppPaths``); nothing else constructs
these, and everything else is handed what it needs. Building comes in two
steps: the ``Groundwork`` (folders, thumbnail cache, the free-space gate)
exists before the store opens, since the daemon waits on it for room on the
disk first; ``open_components_on`` then builds the rest over it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from photoindex.config import AppPaths, Settings
from photoindex.indexer.decoding.places import GeoLookup
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache
from photoindex.indexer.discovery import DiscoveryRules
from photoindex.indexer.disk.gate import ReadOnlyGate
from photoindex.indexer.disk.space import DiskSpace
from photoindex.indexer.identity import load_host_id
from photoindex.indexer.models.factories import build_model_worker
from photoindex.indexer.models.ids import ClipSpec, clip_spec
from photoindex.indexer.models.process import ModelProcess, build_remote_model_worker
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.payloads import now_iso
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import VectorStore, open_store
from photoindex.indexer.store.guarded import GuardedStore
from photoindex.indexer.writer import IndexWriter

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar

    from photoindex.query_api.services import DaemonControl

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Groundwork:
    """What exists before the store opens: the settings, their folders, the thumbnail cache and the disk gate."""

    settings: Settings
    paths: AppPaths
    spec: ClipSpec
    thumbnails: ThumbnailCache
    gate: ReadOnlyGate


def lay_groundwork(settings: Settings, paths: AppPaths | None = None) -> Groundwork:
    """The folders (created when missing), the thumbnail cache and the gate over their disks.

    ``paths``: the folders, when the caller has worked them out and created them already (the
    daemon, for its lock).
    """
    if paths is None:
        paths = AppPaths.from_settings(settings)
        paths.ensure()
    thumbnails = build_thumbnail_cache(settings, paths)
    gate = build_gate(settings, paths, thumbnails)
    return Groundwork(settings, paths, clip_spec(settings.model), thumbnails, gate)


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


def build_daemon_model_worker(
    settings: Settings, paths: AppPaths, *, log_level: str = "warning"
) -> tuple[ModelWorker, ModelProcess]:
    """The daemon's model worker: models in a child process, unloaded (the child ends) when idle."""
    return build_remote_model_worker(settings.model, paths.cache_dir, log_level=log_level)


@contextmanager
def open_components(settings: Settings, *, models: ModelWorker | None = None) -> Iterator[Components]:
    """Build the indexing components from the settings alone; closes them (store last) on exit."""
    with open_components_on(lay_groundwork(settings), models=models) as parts:
        yield parts


@contextmanager
def open_components_on(ground: Groundwork, *, models: ModelWorker | None = None) -> Iterator[Components]:
    """Build the indexing components over ``ground``; closes them (store last) on exit.

    ``models``: a model worker to use instead of an in-process one (the daemon's
    runs the models in a child process); it is closed on exit all the same.
    """
    settings, paths, spec, thumbnails, gate = ground.settings, ground.paths, ground.spec, ground.thumbnails, ground.gate
    with ExitStack() as stack:
        raw_store = open_index_store(settings, paths, spec)
        stack.callback(raw_store.close)
        store = GuardedStore(raw_store, gate.refusal)
        models = models or build_model_worker(settings.model, paths.cache_dir)
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


@dataclass
class SearchParts:
    """What a search without a daemon works with: the index and an in-process model worker."""

    settings: Settings
    paths: AppPaths
    spec: ClipSpec
    store: VectorStore
    models: ModelWorker


@contextmanager
def open_search(settings: Settings, paths: AppPaths | None = None) -> Iterator[SearchParts]:
    """The parts of ``photoindex search`` without a daemon; closes them (store last) on exit.

    ``paths``: the folders, when the caller has worked them out already.
    """
    paths = paths or AppPaths.from_settings(settings)
    spec = clip_spec(settings.model)
    with ExitStack() as stack:
        store = open_index_store(settings, paths, spec)
        stack.callback(store.close)
        models = build_model_worker(settings.model, paths.cache_dir)
        stack.callback(models.close)
        yield SearchParts(settings, paths, spec, store, models)


def discovery_rules(settings: Settings) -> DiscoveryRules:
    """Which files and folders of a library are photos to index (``[watch]`` include, exclude, symlinks)."""
    watch = settings.watch
    return DiscoveryRules(include=watch.include, exclude=watch.exclude, follow_symlinks=watch.follow_symlinks)


def build_thumbnail_cache(settings: Settings, paths: AppPaths) -> ThumbnailCache:
    return ThumbnailCache(paths.cache_dir, max_bytes=settings.cache.max_mb * 1_000_000)


def build_gate(settings: Settings, paths: AppPaths, thumbnails: ThumbnailCache | None) -> ReadOnlyGate:
    """The free-space watch over the data (when the store is embedded), cache and state folders."""
    local = settings.store.url is None
    folders = [paths.store_dir.parent if local else paths.data_dir, paths.cache_dir, paths.state_dir]
    space = DiskSpace(folders, min_free_mb=settings.store.min_free_mb)
    return ReadOnlyGate(space, thumbnails, store_dir=paths.store_dir if local else None)


def build_query_api(parts: Components, *, daemon: DaemonControl | None, config_file: Path | None) -> Litestar:
    """The query API over the daemon's parts: its store, model worker and decode pool, and the daemon itself."""
    from photoindex.query_api import create_app  # Litestar: only a process that serves the API imports it

    return create_app(
        parts.settings,
        store=parts.store,
        models=parts.models,
        paths=parts.paths,
        spec=parts.spec,
        host_id=parts.host_id,
        decoder=parts.decoder,
        writer=parts.pipeline.writer,
        thumbnails=parts.thumbnails,
        daemon=daemon,
        config_file=config_file,
    )
