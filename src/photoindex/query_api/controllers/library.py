"""The library as a whole: collections, indexing status, failed files, capabilities."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from photoindex.errors import ErrorCode
from photoindex.indexer.status import PhotoStatus
from photoindex.indexer.store import PhotoFilter, PhotoPoint
from photoindex.library import Rejected, failure_page, failures_by_code
from photoindex.query_api import limits
from photoindex.query_api.about import API_VERSION, package_version
from photoindex.query_api.params import Limit, Offset
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.common import photo_summary
from photoindex.query_api.schemas.library import (
    Capabilities,
    Collection,
    CollectionList,
    FailureOut,
    FailurePageOut,
    Limits,
    ModelInfo,
    ModelState,
    Status,
)
from photoindex.query_api.services import ApiServices

SAMPLES = 5
_MB = 1 << 20


class LibraryController(Controller):
    path = "/"
    tags = ("library",)

    @get("/collections", responses=problem_docs(401), summary="The collections this server holds")
    async def collections(self, services: NamedDependency[ApiServices]) -> CollectionList:
        return CollectionList([await _collection(services)])

    @get("/collections/{name:str}", responses=problem_docs(401, 404), summary="One collection")
    async def collection(self, services: NamedDependency[ApiServices], name: FromPath[str]) -> Collection:
        if name != services.store.collection:
            raise Rejected(f"no collection {name!r}", reason="invalid", code=ErrorCode.NOT_FOUND)
        return await _collection(services)

    @get("/status", responses=problem_docs(401), summary="Queue, rate, ETA, failures by code, watchers, models")
    async def status(self, services: NamedDependency[ApiServices]) -> Status:
        store = services.store
        counts = await services.in_store(
            lambda: {s.value: store.count(PhotoFilter(statuses=(s,))) for s in PhotoStatus}
        )
        daemon = services.daemon_status()
        if daemon is not None and services.settings.store.url is None:
            # The daemon owns the embedded store and tallies its failures as it writes: no read of every failure.
            by_code = dict(daemon.failures_by_code)
        else:
            by_code = await services.in_store(lambda: failures_by_code(store))
        error = services.models.embedder_error
        return Status(
            collection=store.collection,
            photos=counts,
            failures_by_code=by_code,
            models=ModelState(
                embedder=services.encoder.state(),
                error=error.message if error else None,
                text_cache_hits=services.encoder.cache_hits,
            ),
            daemon=msgspec.to_builtins(daemon) if daemon is not None else None,
        )

    @get("/failures", responses=problem_docs(400, 401), summary="Files that could not be indexed, with codes")
    async def failures(
        self,
        services: NamedDependency[ApiServices],
        limit: Limit = 50,
        offset: Offset = 0,
        code: Annotated[str | None, QueryParameter(pattern=r"^ERR_[A-Z_]{1,40}$", description="only this code")] = None,
    ) -> FailurePageOut:
        page = await services.in_store(lambda: failure_page(services.store, offset=offset, limit=limit, code=code))
        items = [
            FailureOut(
                id=point_id,
                path=payload.path,
                code=payload.error_code if payload.error_code is not None else str(ErrorCode.DECODE),
                message=payload.error_message,
                size=payload.size,
                at=payload.indexed_at,
            )
            for point_id, payload in page.items
        ]
        more = offset + limit < page.total
        return FailurePageOut(
            failures=items, offset=offset, limit=limit, total=page.total, next_offset=offset + limit if more else None
        )

    @get("/capabilities", responses=problem_docs(401), summary="Device, models, dimensions, batch size, limits")
    async def capabilities(self, services: NamedDependency[ApiServices]) -> Capabilities:
        settings, spec = services.settings, services.spec
        embedder = services.models.embedder
        device = getattr(embedder, "device", None)
        return Capabilities(
            api_version=API_VERSION,
            version=package_version(),
            device=str(device) if device is not None else settings.model.device,
            batch_size=_batch_size(services),
            models=ModelInfo(
                clip=settings.model.clip,
                model_id=spec.model_id,
                dim=spec.dim,
                image_size=spec.image_size,
                random_weights=spec.random_weights,
                captions=settings.model.captions,
                caption_model=settings.model.caption_model if settings.model.captions != "off" else None,
            ),
            store="server" if settings.store.url else "embedded",
            duplicate_kinds=["exact", "near", "similar"],
            limits=Limits(
                max_limit=limits.MAX_LIMIT,
                max_offset=limits.MAX_OFFSET,
                max_query_chars=limits.MAX_QUERY_CHARS,
                max_upload_bytes=settings.api.max_upload_mb * _MB,
                max_query_image_bytes=settings.api.max_query_image_mb * _MB,
            ),
            auth=services.api_key is not None,
        )


async def _collection(services: ApiServices) -> Collection:
    store = services.store

    def read() -> tuple[dict[str, object], dict[str, int], list[PhotoPoint]]:
        meta = store.get_meta()
        counts: dict[str, int] = {s: store.count(PhotoFilter(statuses=(s,))) for s in PhotoStatus}
        samples = []
        for point in store.scroll(flt=PhotoFilter(statuses=(PhotoStatus.INDEXED,)), page_size=SAMPLES):
            samples.append(point)
            if len(samples) >= SAMPLES:
                break
        return meta, counts, samples

    meta, counts, samples = await services.in_store(read)
    snapshot, _fresh = await services.catalog.snapshot()
    return Collection(
        name=store.collection,
        model_id=_text(meta.get("model_id")),
        dim=store.dim,
        random_weights=bool(meta.get("random_weights", False)),
        photos=sum(counts.values()),
        indexed=counts["indexed"],
        pending=counts["pending"],
        failed=counts["failed"],
        bytes=snapshot.total_bytes() if snapshot is not None else None,
        last_indexed_at=snapshot.last_indexed_at if snapshot is not None else None,
        created_at=_text(meta.get("created_at")),
        samples=[photo_summary(p.id, p.payload) for p in samples],
    )


def _batch_size(services: ApiServices) -> int:
    size = getattr(services.models, "batch_size", None)
    if isinstance(size, int) and size > 0:
        return size
    configured = services.settings.model.batch_size
    return configured if configured > 0 else 16  # the CPU default (CPU_BATCH, indexer/models/worker.py)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


__all__ = ["LibraryController"]
