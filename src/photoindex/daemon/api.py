"""The query API hook: serve ``photoindex.query_api.create_app`` with uvicorn in the daemon's loop.

The API shares the daemon's store, model worker (queries get the model
before indexing batches) and decode pool, and is handed the daemon's hooks:
its status, folder rescans, and changes to the watched folders. The port is
bound before the daemon reports ready, so "ready" means "answering". With
``--no-api`` (or without the query API package) the daemon runs headless.
"""

from __future__ import annotations

import contextlib
import inspect
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

from photoindex.config import Settings
from photoindex.daemon.supervisor import Components
from photoindex.errors import ErrorCode, PhotoindexError

log = structlog.get_logger(__name__)


def _create_app() -> Any:
    try:
        from photoindex.query_api import create_app
    except ImportError:
        return None
    return create_app


async def start_query_api(tg: TaskGroup, settings: Settings, parts: Components, hooks: dict[str, Any]) -> str | None:
    """Bind the port and serve the API in ``tg``; returns its URL, or None when there is no API.

    ``hooks`` are the daemon's callbacks (``status``, ``rescan``, ``on_folders_changed``,
    ``on_folder_removed``, ``config_file``); each is passed when ``create_app`` takes it.
    """
    create_app = _create_app()
    if create_app is None:
        log.info("api.not_available", detail="photoindex.query_api has no create_app; running headless")
        return None
    offered: dict[str, Any] = {
        "store": parts.store,
        "models": parts.models,
        "pipeline": parts.pipeline,
        "paths": parts.paths,
        "spec": parts.spec,
        "host_id": parts.host_id,
        "thumbnails": parts.thumbnails,
        **hooks,
    }
    params = inspect.signature(create_app).parameters
    app = create_app(settings, **{k: v for k, v in offered.items() if k in params})
    import uvicorn

    sock = _bind(settings.api.host, settings.api.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = _server(config)
    tg.start_soon(server.serve, [sock])
    with anyio.fail_after(60):
        while not server.started:
            if server.should_exit:
                raise PhotoindexError("the query API failed to start", code=ErrorCode.CONFIG_INVALID)
            await anyio.sleep(0.02)
    url = f"http://{_url_host(host)}:{port}"
    log.info("api.listening", url=url)
    return url


def _server(config: Any) -> Any:
    """uvicorn's server without its signal handling: the daemon owns SIGTERM and SIGINT."""
    import uvicorn

    class QuietServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer(config)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PhotoindexError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; set api.port (or api.host) to a free one",
            code=ErrorCode.CONFIG_INVALID,
        ) from None
    sock.listen(128)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


__all__ = ["start_query_api"]
