"""Every error as RFC 9457 problem details (``application/problem+json``), mapped in this one place.

A body always carries ``type``, ``title``, ``status``, ``detail`` and ``code``:
an ``ErrorCode`` value for errors from below the API, or an ``ApiCode`` value
for conditions only HTTP has (a bad parameter, a missing key, a foreign Host).
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from photoindex.errors import ConfigError, ErrorCode, FileError, PhotoindexError
from photoindex.library import ModelsLoading, Rejected

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiCode(StrEnum):
    """Codes for conditions that exist only at the HTTP edge (domain errors use ``ErrorCode``)."""

    BAD_REQUEST = "ERR_BAD_REQUEST"
    UNAUTHORIZED = "ERR_UNAUTHORIZED"
    FORBIDDEN = "ERR_FORBIDDEN"
    HOST_NOT_ALLOWED = "ERR_HOST_NOT_ALLOWED"
    ORIGIN_NOT_ALLOWED = "ERR_ORIGIN_NOT_ALLOWED"
    METHOD_NOT_ALLOWED = "ERR_METHOD_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "ERR_PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "ERR_UNSUPPORTED_MEDIA_TYPE"
    CONFLICT = "ERR_CONFLICT"
    UNAVAILABLE = "ERR_UNAVAILABLE"
    INTERNAL = "ERR_INTERNAL"


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details plus a stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None  # which parameters were wrong, for validation errors
    retry_after_s: int | None = None


_REASON_STATUS = {
    "invalid": (400, ApiCode.BAD_REQUEST),
    "forbidden": (403, ApiCode.FORBIDDEN),
    "conflict": (409, ApiCode.CONFLICT),
    "unavailable": (503, ApiCode.UNAVAILABLE),
    "too_large": (413, ApiCode.PAYLOAD_TOO_LARGE),
    "unsupported": (415, ApiCode.UNSUPPORTED_MEDIA_TYPE),
}
_CODE_STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.VANISHED: 404,
    ErrorCode.PERMISSION: 403,
    ErrorCode.MODEL_UNAVAILABLE: 503,
    ErrorCode.STORE: 503,
    ErrorCode.STORE_IN_USE: 503,
    ErrorCode.DISK_FULL: 503,
    ErrorCode.CONFIG_INVALID: 409,  # the config file on disk is what is invalid
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.EMBED: 500,
    ErrorCode.CAPTION: 500,
    ErrorCode.IO: 500,
}
_HTTP_CODES = {
    401: ApiCode.UNAUTHORIZED,
    403: ApiCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ApiCode.METHOD_NOT_ALLOWED,
    409: ApiCode.CONFLICT,
    413: ApiCode.PAYLOAD_TOO_LARGE,
    415: ApiCode.UNSUPPORTED_MEDIA_TYPE,
    503: ApiCode.UNAVAILABLE,
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    retry_after_s: int | None = None,
) -> Problem:
    return Problem(
        type=f"urn:photoindex:problem:{code}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        errors=errors,
        retry_after_s=retry_after_s,
    )


def problem_response(body: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    out = dict(headers or {})
    if body.retry_after_s is not None:
        out["Retry-After"] = str(body.retry_after_s)
    return Response(msgspec.json.encode(body), status_code=body.status, media_type=PROBLEM_MEDIA_TYPE, headers=out)


def for_exception(exc: Exception) -> tuple[Problem, dict[str, str]]:
    """The problem body (and extra headers) an exception becomes."""
    if isinstance(exc, ModelsLoading):
        return problem(503, str(exc.code), exc.message, retry_after_s=exc.retry_after_s), {}
    if isinstance(exc, Rejected):
        status, api_code = _REASON_STATUS[exc.reason]
        code: str = api_code if exc.code == ErrorCode.CONFIG_INVALID else str(exc.code)
        if exc.code == ErrorCode.NOT_FOUND:
            status = 404
        return problem(status, code, exc.message), {}
    if isinstance(exc, ConfigError):
        return problem(409, str(exc.code), exc.message), {}
    if isinstance(exc, FileError) and exc.code not in _CODE_STATUS:
        return problem(422, str(exc.code), exc.message), {}  # an image we were sent could not be read
    if isinstance(exc, PhotoindexError):
        return problem(_CODE_STATUS.get(exc.code, 500), str(exc.code), exc.message), {}
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else None
        return problem(400, ApiCode.BAD_REQUEST, _plain(exc.detail), errors=extra), {}
    if isinstance(exc, HTTPException):
        status = exc.status_code
        fallback = ApiCode.BAD_REQUEST if status < 500 else ApiCode.INTERNAL
        headers = dict(exc.headers or {})
        return problem(status, str(_HTTP_CODES.get(status, fallback)), _plain(exc.detail)), headers
    return problem(500, ApiCode.INTERNAL, "internal error; the server log has the details"), {}


def handle_exception(request: Request[object, object, State], exc: Exception) -> Response[bytes]:
    """Litestar exception handler for every exception type."""
    body, headers = for_exception(exc)
    if body.status >= 500 and body.code == ApiCode.INTERNAL:
        log.exception("api.internal_error", path=request.url.path, error=str(exc), exc_info=exc)
    return problem_response(body, headers)


def problem_docs(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route may give (400 always: any parameter may be bad)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in sorted({400, *statuses})
    }


def _plain(detail: str) -> str:
    return detail or "bad request"


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ApiCode",
    "Problem",
    "for_exception",
    "handle_exception",
    "problem",
    "problem_docs",
    "problem_response",
]
