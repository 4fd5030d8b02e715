"""Library-wide answers: health, collections, status, failures, capabilities, the 2-D map."""

from __future__ import annotations

from typing import Any

import msgspec

from photoindex.query_api.schemas.common import PhotoSummary


class Health(msgspec.Struct):
    status: str
    version: str


class Readiness(msgspec.Struct, kw_only=True):
    ready: bool
    store: str  # "ok" or what went wrong
    watchers: str  # "ok", "degraded: ...", or "none" when no daemon is attached
    models: str  # loaded | loading | not_loaded | failed


class Collection(msgspec.Struct, kw_only=True):
    name: str
    model_id: str | None
    dim: int
    random_weights: bool
    photos: int
    indexed: int
    pending: int
    failed: int
    bytes: int | None  # total size of the photos' files (null until the first library snapshot)
    last_indexed_at: str | None
    created_at: str | None
    samples: list[PhotoSummary]


class CollectionList(msgspec.Struct):
    collections: list[Collection]


class ModelState(msgspec.Struct, kw_only=True):
    embedder: str  # loaded | loading | not_loaded | failed
    error: str | None
    text_cache_hits: int


class Status(msgspec.Struct, kw_only=True):
    """What the index holds and, with a daemon attached, what it is doing (``daemon``)."""

    collection: str
    photos: dict[str, int]  # indexed / pending / failed
    failures_by_code: dict[str, int]
    models: ModelState
    daemon: dict[str, Any] | None  # queue, rate, ETA, watcher health: the daemon's own status record


class FailureOut(msgspec.Struct, kw_only=True):
    id: str
    path: str | None
    code: str
    message: str | None
    size: int | None
    at: str | None


class FailurePageOut(msgspec.Struct, kw_only=True):
    failures: list[FailureOut]
    offset: int
    limit: int
    total: int
    next_offset: int | None


class ModelInfo(msgspec.Struct, kw_only=True):
    clip: str
    model_id: str
    dim: int
    image_size: int
    random_weights: bool
    captions: str
    caption_model: str | None


class Limits(msgspec.Struct, kw_only=True):
    max_limit: int
    max_offset: int
    max_query_chars: int
    max_upload_bytes: int
    max_query_image_bytes: int


class Capabilities(msgspec.Struct, kw_only=True):
    api_version: str
    version: str
    device: str  # the model worker's device once loaded, else the configured choice
    batch_size: int
    models: ModelInfo
    store: str  # "embedded" or "server"
    duplicate_kinds: list[str]
    limits: Limits
    auth: bool


class ProjectionPage(msgspec.Struct, kw_only=True):
    """Map coordinates in [0, 1]: parallel columns ``ids``/``x``/``y``/``clusters`` (null until a first fit).

    Points are in photo-id order; ``next_cursor`` pages exactly across a refit.
    """

    ids: list[str]
    x: list[float]
    y: list[float]
    clusters: list[int]
    offset: int
    limit: int
    total: int
    next_offset: int | None
    method: str | None  # umap | pca
    computed_at: str | None
    stale: bool  # the library changed since this map was fitted
    computing: bool  # a new fit is running
    error: str | None = None
    next_cursor: str | None = None


__all__ = [
    "Capabilities",
    "Collection",
    "CollectionList",
    "FailureOut",
    "FailurePageOut",
    "Health",
    "Limits",
    "ModelInfo",
    "ModelState",
    "ProjectionPage",
    "Readiness",
    "Status",
]
