"""``/session``: the web page gives the API key once and gets it back as a cookie; ``DELETE`` signs out.

Open without a key (it is how the key arrives) but, being a write, held to
the Origin check like every other: a page on another site cannot sign a
browser in or out.
"""

from __future__ import annotations

import structlog
from litestar import Controller, Response, delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from photoindex.query_api.problems import PROBLEM_MEDIA_TYPE, ApiCode, problem, problem_docs
from photoindex.query_api.schemas.session import SessionRequest
from photoindex.query_api.services import ApiServices
from photoindex.query_api.session import cleared_cookie, same_secret, session_cookie

log = structlog.get_logger(__name__)


class SessionController(Controller):
    path = "/session"
    tags = ("session",)

    @post(
        "/",
        status_code=204,
        responses=problem_docs(401, 403, 409),
        summary="Sign the web page in: the API key, once, becomes an HttpOnly cookie",
    )
    async def sign_in(self, services: NamedDependency[ApiServices], data: JSONBody[SessionRequest]) -> Response[None]:
        """204 and the cookie when the key is right; 401 ``ERR_UNAUTHORIZED`` and no cookie when it is wrong;
        409 ``ERR_CONFLICT`` when this server has no key (every route is open already)."""
        key = services.api_key
        if key is None:
            body = problem(409, ApiCode.CONFLICT, "this server has no API key: nothing to sign in to")
            return Response(body, status_code=409, media_type=PROBLEM_MEDIA_TYPE)  # type: ignore[arg-type]
        if not same_secret(data.key, key):
            log.warning("api.session_key_wrong")
            body = problem(401, ApiCode.UNAUTHORIZED, "the API key is wrong")
            return Response(body, status_code=401, media_type=PROBLEM_MEDIA_TYPE)  # type: ignore[arg-type]
        return Response(None, status_code=204, cookies=[session_cookie(services.settings.api.port, key)])

    @delete("/", status_code=204, responses=problem_docs(403), summary="Sign the web page out: clear the cookie")
    async def sign_out(self, services: NamedDependency[ApiServices]) -> Response[None]:
        return Response(None, status_code=204, cookies=[cleared_cookie(services.settings.api.port)])
