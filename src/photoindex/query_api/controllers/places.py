"""Browse by place: the countries and cities the library holds photos of, with counts."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from photoindex.library.search import FIRST_SNAPSHOT_WAIT_S
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.places import PlacesOut, places_out
from photoindex.query_api.services import ApiServices


class PlacesController(Controller):
    path = "/places"
    tags = ("places",)

    @get("/", responses=problem_docs(401), summary="Countries and cities with photo counts")
    async def places(self, services: NamedDependency[ApiServices]) -> PlacesOut:
        """Counted from the library snapshot (no store scan per request); search one with ``q=… in <city>``."""
        snapshot, _fresh = await services.catalog.snapshot(wait_s=FIRST_SNAPSHOT_WAIT_S)
        return places_out(await services.place_index.index(snapshot), complete=snapshot is not None)


__all__ = ["PlacesController"]
