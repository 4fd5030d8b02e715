"""Serve the query API with uvicorn in the daemon's loop.

The API shares the daemon's store, model worker (queries get the model
before indexing batches) and decode pool, and is handed the daemon itself
(``DaemonControl``): its status, folder rescans, and changes to the watched
folders. The port is bound before the daemon reports ready, so "ready" means
"answering". With ``--no-api`` the daemon runs headless.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio
import structlog
import uvicorn
from anyio.abc import TaskGroup

from photoindex.components import Components, build_query_api
from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.query_api.services import DaemonControl

log = structlog.get_logger(__name__)


async def start_query_api(tg: TaskGroup, parts: Components, daemon: DaemonControl, *, config_file: Path | None) -> str:
    """Bind the port and serve the API over ``parts`` and ``daemon`` in ``tg``; returns its URL."""
    app = build_query_api(parts, daemon=daemon, config_file=config_file)
    settings = parts.settings
    sock = _bind(settings.api.host, settings.api.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = _QuietServer(config)
    tg.start_soon(server.serve, [sock])
    with anyio.fail_after(60):
        while not server.started:
            if server.should_exit:
                raise PhotoindexError("the query API failed to start", code=ErrorCode.CONFIG_INVALID)
            await anyio.sleep(0.02)
    url = f"http://{_url_host(host)}:{port}"
    log.info("api.listening", url=url)
    return url


class _QuietServer(uvicorn.Server):
    """uvicorn's server without its signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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
