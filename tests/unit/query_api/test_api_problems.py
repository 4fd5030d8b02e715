"""Every exception becomes one problem body with a status and a stable code."""

from __future__ import annotations

import pytest
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from photoindex.errors import ConfigError, ErrorCode, FileError, ModelError, StoreError
from photoindex.library import ModelsLoading, Rejected
from photoindex.query_api.problems import ApiCode, for_exception


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (StoreError("gone", code=ErrorCode.NOT_FOUND), 404, ErrorCode.NOT_FOUND),
        (StoreError("down"), 503, ErrorCode.STORE),
        (ModelError("offline"), 503, ErrorCode.MODEL_UNAVAILABLE),
        (FileError("bad", code=ErrorCode.TRUNCATED), 422, ErrorCode.TRUNCATED),
        (FileError("huge", code=ErrorCode.TOO_LARGE), 413, ErrorCode.TOO_LARGE),
        (FileError("gone", code=ErrorCode.VANISHED), 404, ErrorCode.VANISHED),
        (ConfigError(["$.x: bad"]), 409, ErrorCode.CONFIG_INVALID),
        (Rejected("no", reason="invalid"), 400, ApiCode.BAD_REQUEST),
        (Rejected("no", reason="forbidden", code=ErrorCode.PERMISSION), 403, ErrorCode.PERMISSION),
        (Rejected("dup", reason="conflict"), 409, ApiCode.CONFLICT),
        (Rejected("missing", reason="invalid", code=ErrorCode.NOT_FOUND), 404, ErrorCode.NOT_FOUND),
        (Rejected("none", reason="unavailable"), 503, ApiCode.UNAVAILABLE),
        (ValidationException("bad limit"), 400, ApiCode.BAD_REQUEST),
        (NotFoundException(), 404, ErrorCode.NOT_FOUND),
        (HTTPException(status_code=405), 405, ApiCode.METHOD_NOT_ALLOWED),
        (RuntimeError("boom"), 500, ApiCode.INTERNAL),
    ],
)
def test_mapping(exc: Exception, status: int, code: str) -> None:
    body, _headers = for_exception(exc)
    assert (body.status, body.code) == (status, str(code))
    assert body.type.endswith(str(code)) and body.title and body.detail


def test_internal_errors_do_not_leak_details() -> None:
    body, _ = for_exception(RuntimeError("/home/me/secret path"))
    assert "secret" not in body.detail


def test_loading_models_say_when_to_retry() -> None:
    body, _ = for_exception(ModelsLoading(7))
    assert (body.status, body.retry_after_s) == (503, 7)
