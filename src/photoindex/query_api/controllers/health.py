"""Liveness (no key needed) and readiness (store answering, watchers running)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from photoindex.errors import PhotoindexError
from photoindex.query_api.about import package_version
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.library import Health, Readiness
from photoindex.query_api.services import ApiServices, DaemonReport


class HealthController(Controller):
    path = "/"
    tags = ("health",)

    @get("/health", summary="The process is up")
    async def health(self) -> Health:
        return Health(status="ok", version=package_version())

    @get(
        "/ready",
        responses={
            **problem_docs(401),
            503: ResponseSpec(Readiness, description="Not ready (same body)", generate_examples=False),
        },
        summary="Ready to answer: store open, watchers running",
    )
    async def ready(self, services: NamedDependency[ApiServices]) -> Response[Readiness]:
        """200 when ready, 503 (same body) when not; models loading does not make it unready."""
        try:
            await services.in_store(services.store.count)
            store = "ok"
        except PhotoindexError as exc:
            store = f"{exc.code}: {exc.message}"
        watchers = _watchers(services.daemon_status(), attached=services.status is not None)
        body = Readiness(
            ready=store == "ok" and not watchers.startswith("not ready"),
            store=store,
            watchers=watchers,
            models=services.encoder.state(),
        )
        return Response(body, status_code=200 if body.ready else 503)


def _watchers(status: DaemonReport | None, *, attached: bool) -> str:
    if not attached:
        return "none"
    if status is None:
        return "not ready: the daemon reports no status"
    if status.state in ("starting", "stopping"):
        return f"not ready: the daemon is {status.state}"
    if status.health != "ok" and status.problems:
        return "degraded: " + "; ".join(f"{p.where}: {p.reason}" for p in status.problems)
    return "ok"


__all__ = ["HealthController"]
