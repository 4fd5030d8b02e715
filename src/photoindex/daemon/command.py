"""``photoindex serve``: lock the data folder, wait for room on the disk, build the parts, run until a signal."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.abc
import structlog

from photoindex.components import build_daemon_model_worker, lay_groundwork, open_components_on
from photoindex.config import AppPaths, Settings
from photoindex.daemon.lock import OwnerLock
from photoindex.daemon.notify import Notifier
from photoindex.daemon.read_only import wait_for_room_to_open, waiting_status
from photoindex.daemon.serve import Daemon
from photoindex.daemon.status import write_status
from photoindex.indexer.disk.space import Shortage
from photoindex.version import package_version

log = structlog.get_logger(__name__)


def serve(
    settings: Settings,
    *,
    roots: list[str] | None = None,
    api: bool = True,
    log_level: str = "warning",
    config_file: Path | None = None,
    on_ready: Callable[[Daemon], None] | None = None,
) -> None:
    """Run the daemon in the foreground until SIGTERM or SIGINT (``photoindex serve``).

    Raises StoreError(ERR_STORE_IN_USE) at once when another daemon owns the data directory.
    """
    paths = AppPaths.from_settings(settings)
    paths.ensure()
    with OwnerLock.acquire(paths.state_dir, data_dir=paths.data_dir):
        ground = lay_groundwork(settings, paths)
        extra: tuple[str, ...] = ()
        if api:
            from photoindex.library.inbox_path import resolve_inbox

            inbox = resolve_inbox(settings, paths)
            inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
            extra = (str(inbox),)  # uploads land here; it is indexed like a library folder
        local_store = paths.store_dir if settings.store.url is None else None
        started_at = datetime.now(UTC)

        def say_why(shortage: Shortage) -> None:
            with contextlib.suppress(OSError):  # the state folder may be the full one
                status = waiting_status(
                    shortage, started_at=started_at, collection=ground.spec.collection, version=package_version()
                )
                write_status(paths.state_dir, status)

        wait_for_room_to_open(ground.gate.space, local_store, ground.thumbnails, Notifier(), on_wait=say_why)
        models, host = build_daemon_model_worker(settings, paths, log_level=log_level)
        with open_components_on(ground, models=models) as parts:
            folders = list(roots if roots is not None else settings.watch.folders)
            daemon = Daemon(parts, folders, api=api, model_host=host, config_file=config_file, extra_roots=extra)
            anyio.run(_run_until_signal, daemon, on_ready)


async def _run_until_signal(daemon: Daemon, on_ready: Callable[[Daemon], None] | None) -> None:
    async with anyio.create_task_group() as tg:
        await tg.start(_stop_on_signal, tg.cancel_scope)  # from the first moment: start-up can take a while
        await tg.start(daemon.run)
        if on_ready is not None:
            on_ready(daemon)


async def _stop_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for signum in signals:
            log.info("daemon.stopping", signal=signal.Signals(signum).name)
            scope.cancel()
            return


__all__ = ["serve"]
