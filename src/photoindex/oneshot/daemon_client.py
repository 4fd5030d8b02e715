"""Ask the running daemon's query API over httpx: the pages of a search, by cursor; a folder to watch.

The daemon is looked for at ``api.host``/``api.port`` with a short connect
timeout; no answer there means no daemon (the caller then searches
in-process). While the daemon loads its model it answers 503 with
Retry-After, which is waited out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TypedDict

import httpx
import msgspec

from photoindex.config import Settings
from photoindex.errors import ErrorCode, PhotoindexError
from photoindex.library.paging import MAX_LIMIT

CONNECT_TIMEOUT_S = 0.3
READ_TIMEOUT_S = 60.0
# While the daemon loads its model it answers 503 with Retry-After; we wait this long in all.
MODEL_WAIT_S = 90.0
WATCH_TIMEOUT_S = 30.0


class FoundPhoto(TypedDict):
    """One hit of ``photoindex search``, the same with a daemon and without."""

    id: str
    score: float
    path: str | None
    caption: str | None
    taken_at: str | None
    width: int | None
    height: int | None


class _Photo(msgspec.Struct):
    path: str | None = None
    caption: str | None = None
    taken_at: str | None = None
    width: int | None = None
    height: int | None = None


class _Hit(msgspec.Struct):
    id: str
    score: float
    photo: _Photo = msgspec.field(default_factory=_Photo)


class _Page(msgspec.Struct):
    """What the client reads of the API's ``SearchPage``."""

    hits: list[_Hit]
    next_cursor: str | None = None


def search_via_daemon(
    settings: Settings, *, text: str | None, image: str | None, limit: int, offset: int
) -> list[FoundPhoto] | None:
    """The daemon's answer, or None when no daemon listens at ``api.host:api.port``.

    Pages of at most the API's ``MAX_LIMIT``: the first at ``offset``, each next one by the
    cursor, so the photos come in one order without a repeat or a gap even while the daemon
    indexes.
    """
    hits: list[FoundPhoto] = []
    cursor: str | None = None
    upload = None if image is None else Path(image).read_bytes()
    with _client(settings) as client:
        while len(hits) < limit:
            paging: dict[str, str | int] = {"limit": min(MAX_LIMIT, limit - len(hits))}
            paging.update({"cursor": cursor} if cursor else {"offset": offset})
            if upload is None or image is None:
                request = client.build_request("GET", "/api/v1/search/text", params={"q": text or "", **paging})
            else:
                request = client.build_request(
                    "POST",
                    "/api/v1/search/image",
                    params=paging,
                    data={"text": text} if text else None,
                    files={"image": (Path(image).name, upload, "application/octet-stream")},
                )
            page = _page(client, request)
            if page is None:
                if hits:
                    raise PhotoindexError("the daemon stopped answering between two pages", code=ErrorCode.IO)
                return None
            hits.extend(_hit(h) for h in page.hits)
            cursor = page.next_cursor
            if not cursor:
                break
    return hits


def _client(settings: Settings) -> httpx.Client:
    host = settings.api.host
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    shown = f"[{connect_host}]" if ":" in connect_host else connect_host
    headers = {"Accept": "application/json"}
    key = api_key_of(settings)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(
        base_url=f"http://{shown}:{settings.api.port}",
        headers=headers,
        timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        trust_env=False,  # the daemon is on this machine: never through a proxy from the environment
    )


def _page(client: httpx.Client, request: httpx.Request) -> _Page | None:
    """One page from the daemon (waiting out a model load), or None when no daemon answers."""
    deadline = time.monotonic() + MODEL_WAIT_S
    while True:
        try:
            response = client.send(request)
        except httpx.TransportError:
            return None
        retry_after = response.headers.get("retry-after")
        if response.status_code == 503 and retry_after is not None and time.monotonic() < deadline:
            time.sleep(min(float(retry_after), max(0.0, deadline - time.monotonic())))
            continue
        break
    if response.status_code != 200:
        raise _problem(response.status_code, response.content)
    return msgspec.json.decode(response.content, type=_Page)


def watch_folder(settings: Settings, api_url: str, root: str) -> bool:
    """Ask the running daemon to watch ``root``; False when it already does."""
    key = api_key_of(settings)
    try:
        with httpx.Client(timeout=WATCH_TIMEOUT_S, trust_env=False) as client:
            response = client.post(
                api_url.rstrip("/") + "/api/v1/folders", json={"path": root}, headers={"X-API-Key": key} if key else {}
            )
    except httpx.TransportError as exc:
        raise PhotoindexError(f"cannot reach the running daemon at {api_url}: {exc}", code=ErrorCode.IO) from exc
    if response.status_code == 409:
        return False
    if response.is_error:
        code, detail = _problem_detail(response.content)
        raise PhotoindexError(f"the running daemon refused to watch {root}: {detail}", code=code)
    return True


def _problem_detail(body: bytes) -> tuple[ErrorCode, str]:
    """The stable code and the message of the API's problem details (``ERR_IO`` when it sent none)."""
    try:
        problem = json.loads(body)
        return ErrorCode(problem["code"]), str(problem["detail"])
    except (ValueError, KeyError, TypeError):
        return ErrorCode.IO, body.decode("utf-8", "replace")[:500]


def api_key_of(settings: Settings) -> str | None:
    """The configured API key (``api.api_key``, else the file ``api.api_key_file`` names), or None."""
    if settings.api.api_key:
        return settings.api.api_key
    if settings.api.api_key_file:
        try:
            return Path(settings.api.api_key_file).expanduser().read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    return None


def _problem(status: int, payload: bytes) -> PhotoindexError:
    try:
        problem = json.loads(payload)
        code = ErrorCode(problem["code"]) if problem.get("code") in ErrorCode._value2member_map_ else None
        detail = f"the daemon answered {status}: {problem.get('detail', '')}".rstrip(": ")
    except (ValueError, KeyError, TypeError, AttributeError):
        code, detail = None, f"the daemon answered {status}"
    return PhotoindexError(detail, code=code or ErrorCode.IO)


def _hit(hit: _Hit) -> FoundPhoto:
    photo = hit.photo
    return FoundPhoto(
        id=hit.id,
        score=round(hit.score, 6),
        path=photo.path,
        caption=photo.caption,
        taken_at=photo.taken_at,
        width=photo.width,
        height=photo.height,
    )


__all__ = ["FoundPhoto", "api_key_of", "search_via_daemon", "watch_folder"]
