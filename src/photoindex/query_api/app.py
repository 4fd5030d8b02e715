"""``create_app``: the query API as a Litestar app over the store and model worker it is given.

The daemon serves it with uvicorn in its own event loop, sharing its store,
model worker and decode pool; tests build it over small real parts. Nothing
here is global: two apps in one process share nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from pathlib import Path

import anyio
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware

from photoindex.config import AppPaths, Settings, resolve_config_path
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.decoding.thumbnail_cache import ThumbnailCache
from photoindex.indexer.models.ids import ClipSpec
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.state import IndexState
from photoindex.indexer.store import VectorStore
from photoindex.indexer.writer import IndexWriter
from photoindex.library import (
    Browser,
    Catalog,
    DuplicateFinder,
    Inbox,
    Jobs,
    PhotoFiles,
    ProjectionService,
    QueryEncoder,
    Searcher,
    UploadedQueries,
    WatchedFolders,
    remove_root,
    resolve_inbox,
    unwatch_root,
)
from photoindex.library.duplicates.dismissed import DISMISSED_FILE, DismissedGroups
from photoindex.library.projection import MIN_UMAP_POINTS
from photoindex.query_api import controllers as c
from photoindex.query_api.about import package_version
from photoindex.query_api.contract import correct_openapi, fix_allow_headers, strict_json_body
from photoindex.query_api.docs import ASSETS_PATH, assets_router, openapi_config
from photoindex.query_api.problems import handle_exception
from photoindex.query_api.schemas.common import API_PREFIX
from photoindex.query_api.security import (
    GuardMiddleware,
    GuardPolicy,
    allowed_hosts,
    allowed_origins,
    check_bind,
    resolve_api_key,
)
from photoindex.query_api.services import ApiServices, DaemonControl
from photoindex.query_api.session import cookie_name
from photoindex.query_api.web import web_router

JSON_BODY_LIMIT = 1 << 20  # every JSON body is small; uploads have their own limits
_MB = 1 << 20
_MULTIPART_SLACK = 64 << 10  # part headers and boundaries around an image


def create_app(
    settings: Settings,
    *,
    store: VectorStore,
    models: ModelWorker,
    paths: AppPaths,
    spec: ClipSpec,
    host_id: str,
    daemon: DaemonControl | None = None,
    decoder: DecodePool | None = None,
    writer: IndexWriter | None = None,
    thumbnails: ThumbnailCache | None = None,
    config_file: Path | None = None,
    projection_warm_up: bool = True,
    min_umap_points: int = MIN_UMAP_POINTS,
    today: Callable[[], date] = date.today,
) -> Litestar:
    """The query API over ``store`` and ``models``, for this host's index (``paths``, ``spec``, ``host_id``).

    ``daemon``: the daemon the API runs in (its status, folder rescans, changes to the watched
    folders); without one the API removes a removed folder's photos from the store itself and
    refuses rescans. ``decoder`` lends its decode pool to image queries. Raises ``ConfigError``
    when ``api.host`` is not loopback and no API key is configured. ``today`` is what relative
    dates in text queries count from ("yesterday", "last summer"): the server's date unless injected.
    """
    check_bind(settings)
    services = build_services(
        settings,
        store=store,
        models=models,
        paths=paths,
        spec=spec,
        host_id=host_id,
        daemon=daemon,
        decoder=decoder,
        writer=writer,
        config_file=config_file,
        projection_warm_up=projection_warm_up,
        min_umap_points=min_umap_points,
        thumbnails=thumbnails,
    )
    services.today = today
    api = settings.api
    image_search = type(
        "ImageSearch",
        (c.ImageSearchController,),
        {"request_max_body_size": api.max_query_image_mb * _MB + _MULTIPART_SLACK},
    )
    ingest = type("Ingest", (c.IngestController,), {"request_max_body_size": api.max_upload_mb * _MB})
    router = Router(
        path=API_PREFIX,
        route_handlers=[
            c.HealthController,
            c.SearchController,
            image_search,
            c.PhotoListController,
            c.PhotosController,
            c.PlacesController,
            c.DuplicatesController,
            c.ProjectionController,
            c.LibraryController,
            ingest,
            c.FoldersController,
            c.BrowseController,
            c.SessionController,
        ],
    )
    policy = GuardPolicy(
        hosts=allowed_hosts(settings),
        origins=allowed_origins(settings),
        api_key=services.api_key,
        # The page and its files hold no data and must load without the key, or the page could not ask for it.
        open_paths=frozenset({f"{API_PREFIX}/health", f"{API_PREFIX}/session", "/", f"{ASSETS_PATH}/favicon.svg"}),
        open_prefixes=frozenset({"/static/"}),
        cookie=cookie_name(api.port),
    )
    app = Litestar(
        route_handlers=[router, assets_router(), web_router()],
        dependencies={"services": Provide(lambda: services, sync_to_thread=False)},
        exception_handlers={HTTPException: handle_exception, Exception: handle_exception},
        middleware=[DefineMiddleware(GuardMiddleware, policy=policy)],
        openapi_config=openapi_config(
            title="photoindex",
            version=package_version(),
            description="Search a photo library by text, image and metadata; duplicates; a 2-D map; folders.",
        ),
        lifespan=[_lifespan(services)],
        before_request=strict_json_body,
        on_startup=[correct_openapi],
        request_max_body_size=JSON_BODY_LIMIT,
        logging_config=None,
        debug=False,
    )
    fix_allow_headers(app)
    return app


def build_services(
    settings: Settings,
    *,
    store: VectorStore,
    models: ModelWorker,
    paths: AppPaths,
    spec: ClipSpec,
    host_id: str,
    daemon: DaemonControl | None,
    decoder: DecodePool | None,
    writer: IndexWriter | None,
    config_file: Path | None,
    projection_warm_up: bool,
    min_umap_points: int,
    thumbnails: ThumbnailCache | None = None,
) -> ApiServices:
    """The controllers' collaborators, over the parts ``create_app`` is handed."""
    store_limiter = anyio.CapacityLimiter(4)  # reads only: every write is the writer's, under its own limiter
    # The indexer's writer when one runs in this process; else the API is the only one writing.
    writer = writer or IndexWriter(store, IndexState(host_id))

    async def release_in_store(folder: str, purge: bool) -> int:
        """No indexer runs in this process: keep or remove the folder's photos through the API's writer."""
        return await (remove_root if purge else unwatch_root)(writer, folder)

    status = daemon.status if daemon is not None else None
    jobs = Jobs()
    catalog = Catalog(store, jobs, status=status, limiter=store_limiter)
    browser = Browser(settings.api.browse_roots)
    projection_file = paths.cache_dir / "projection" / f"{store.collection}.npz"
    return ApiServices(
        settings=settings,
        paths=paths,
        spec=spec,
        store=store,
        models=models,
        jobs=jobs,
        catalog=catalog,
        encoder=QueryEncoder(models),
        uploads=UploadedQueries(),
        searcher=Searcher(store, catalog, limiter=store_limiter),
        duplicates=DuplicateFinder(catalog, jobs, store, host_id=host_id),
        dismissed=DismissedGroups(paths.state_dir / DISMISSED_FILE),
        projection=ProjectionService(
            catalog,
            jobs,
            store,
            cache_file=projection_file,
            numba_cache_dir=paths.cache_dir / "numba",
            min_umap_points=min_umap_points,
            warm_up=projection_warm_up,
            idle_release_s=settings.model.idle_unload_s,
        ),
        photos=PhotoFiles(
            store, paths.cache_dir, max_pixels=settings.model.max_pixels, limiter=store_limiter, thumbnails=thumbnails
        ),
        folders=WatchedFolders(
            settings,
            browser,
            config_file=config_file or resolve_config_path(None, os.environ),
            host_id=host_id,
            on_remove=daemon.release_root if daemon is not None else release_in_store,
            on_change=daemon.set_roots if daemon is not None else None,
        ),
        browser=browser,
        inbox=Inbox(resolve_inbox(settings, paths)),
        store_limiter=store_limiter,
        writer=writer,
        decode_limiter=anyio.CapacityLimiter(2),
        decoder=decoder,
        status=status,
        rescan_hook=daemon.rescan if daemon is not None else None,
        api_key=resolve_api_key(settings),
    )


def _lifespan(services: ApiServices) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            services.jobs.attach(tg)
            unsubscribe = services.writer.subscribe(services.catalog.changed)
            services.projection.start()
            tg.start_soon(services.catalog.watch, name="photoindex-library-watch")
            try:
                yield
            finally:
                unsubscribe()
                services.duplicates.stop()
                services.projection.close()
                services.jobs.attach(None)
                tg.cancel_scope.cancel()

    return lifespan


__all__ = ["build_services", "create_app"]
