"""An idle map worker is let go after the idle TTL, so an idle daemon holds no UMAP process."""

from __future__ import annotations

import multiprocessing
import os
import time

from photoindex.library.jobs import Jobs
from photoindex.library.projection.service import ProjectionService


def test_worker_is_released_after_the_idle_ttl() -> None:
    service = ProjectionService(None, Jobs(), None, warm_up=False, idle_release_s=0.5)  # type: ignore[arg-type]
    try:
        worker_pid = service._pool().submit(os.getpid).result(timeout=60)
        assert worker_pid in [p.pid for p in multiprocessing.active_children()]
        service._release_when_idle()
        deadline = time.monotonic() + 20
        while worker_pid in [p.pid for p in multiprocessing.active_children()] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker_pid not in [p.pid for p in multiprocessing.active_children()]
        assert service._executor is None
    finally:
        service.close()


def test_no_release_when_the_ttl_is_zero() -> None:
    service = ProjectionService(None, Jobs(), None, warm_up=False, idle_release_s=0)  # type: ignore[arg-type]
    try:
        service._pool().submit(os.getpid).result(timeout=60)
        service._release_when_idle()
        assert service._release_timer is None  # nothing armed that could let the worker go later
        assert service._executor is not None
    finally:
        service.close()
