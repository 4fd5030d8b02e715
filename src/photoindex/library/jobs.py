"""Named background jobs on the server's task group: one at a time per name, waited on with a bound.

Whole-library work (a snapshot scroll, a duplicate scan, a map fit) must
never hold a request hostage. A request starts the job if it is not running,
waits at most a small budget, and otherwise answers with what it has plus a
"computing" flag. A job that fails is logged and remembered; it never takes
the server down with it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import structlog
from anyio.abc import TaskGroup

log = structlog.get_logger(__name__)


class Jobs:
    """At most one running job per name, started on an attached task group."""

    def __init__(self) -> None:
        self._tg: TaskGroup | None = None
        self._running: dict[str, anyio.Event] = {}
        self.errors: dict[str, str] = {}  # name → the last failure's message
        self.finished_at: dict[str, float] = {}

    def attach(self, tg: TaskGroup | None) -> None:
        """Run jobs on ``tg`` (the app's lifespan group); ``None`` detaches (jobs then run inline)."""
        self._tg = tg

    def running(self, name: str) -> bool:
        return name in self._running

    async def start(self, name: str, job: Callable[[], Awaitable[None]], *, wait_s: float = 0.0) -> bool:
        """Start ``job`` unless one of that name runs; wait up to ``wait_s``; True when none is running after."""
        done = self._running.get(name)
        if done is None:
            done = anyio.Event()
            self._running[name] = done
            if self._tg is None:
                await self._run(name, job, done)  # no server around it (a script, a unit test)
                return True
            self._tg.start_soon(self._run, name, job, done, name=f"photoindex-{name}")
        if wait_s > 0:
            with anyio.move_on_after(wait_s):
                await done.wait()
        return done.is_set()

    async def _run(self, name: str, job: Callable[[], Awaitable[None]], done: anyio.Event) -> None:
        started = time.perf_counter()
        try:
            await job()
            self.errors.pop(name, None)
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            log.warning("library.job_failed", job=name, error=self.errors[name])
        finally:
            self._running.pop(name, None)
            self.finished_at[name] = time.monotonic()
            done.set()
            log.debug("library.job_done", job=name, ms=round((time.perf_counter() - started) * 1000))


__all__ = ["Jobs"]
