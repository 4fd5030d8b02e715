"""The API's locks: loopback by default, an API key otherwise, and no foreign Host or Origin.

- ``check_bind`` refuses a non-loopback address without an API key (the
  daemon calls it before binding; ``create_app`` calls it too).
- ``generate_api_key`` writes a 256-bit key to a new file readable only by
  its owner; ``api.api_key_file`` points the daemon at it.
- ``GuardMiddleware`` runs before every route: the Host header must name
  the bound address, loopback, or ``api.allowed_hosts`` (a DNS-rebinding page
  sends its own name; X-Forwarded-Host is ignored); a state-changing request
  carrying an Origin header is refused unless that origin (scheme, host and
  port) is the API's own (``http://`` any of those Host names at ``api.port``)
  or listed in ``api.allowed_origins``: a page on another local port is another
  site, however local; with a key set, every
  route but ``/api/v1/health``, ``/api/v1/session`` and the web page's own
  files (``/``, ``/static/…``, the icon: they hold no data) needs it as
  ``Authorization: Bearer`` or ``X-API-Key``, or the session cookie that
  ``POST /api/v1/session`` sets (see ``session``). Never in the query string:
  URLs end up in logs and history.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import msgspec
import structlog
from litestar.types import ASGIApp, Receive, Scope, Send

from photoindex.config import Settings
from photoindex.config.origins import Origin, parse_origin
from photoindex.errors import ConfigError
from photoindex.query_api.problems import PROBLEM_MEDIA_TYPE, ApiCode, Problem, problem
from photoindex.query_api.session import cookie_value, same_secret, session_token

log = structlog.get_logger(__name__)

KEY_BYTES = 32  # 256 bits
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_api_key(settings: Settings) -> str | None:
    """``api.api_key``, else the content of ``api.api_key_file``; None when neither is set."""
    api = settings.api
    if api.api_key:
        return api.api_key
    if not api.api_key_file:
        return None
    path = Path(api.api_key_file).expanduser()
    try:
        key = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError([f"$.api.api_key_file: cannot read {path}: {exc.strerror or exc}"]) from None
    if len(key) < 16:
        raise ConfigError([f"$.api.api_key_file: {path} holds no usable key (at least 16 characters)"])
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("api.key_file_readable_by_others", path=str(path), fix=f"chmod 600 {path}")
    return key


def check_bind(settings: Settings) -> None:
    """Raise ``ConfigError`` when the API would listen beyond this machine without a key."""
    host = settings.api.host
    if not is_loopback(host) and resolve_api_key(settings) is None:
        raise ConfigError(
            [
                f"$.api.host: {host!r} is reachable from other machines; set api.api_key or api.api_key_file "
                "first (photoindex.query_api.generate_api_key(path) writes a new one, readable only by you)"
            ]
        )


def generate_api_key(path: Path) -> str:
    """Write a new random key to ``path`` (mode 0600, must not exist yet) and return it."""
    key = secrets.token_urlsafe(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """Host header names this server answers to."""
    names = set(LOOPBACK_NAMES) | {"127.0.0.1", "::1"}
    bound = settings.api.host.strip().strip("[]").lower()
    if bound not in _WILDCARDS:
        names.add(bound)
    names.update(h.strip().strip("[]").rstrip(".").lower() for h in settings.api.allowed_hosts)
    return frozenset(names)


def allowed_origins(settings: Settings) -> frozenset[Origin]:
    """Web origins whose pages may write: the API's own, then ``api.allowed_origins``.

    The API serves plain HTTP at ``api.port``, so its own origins are ``http://`` each
    Host name it answers to at that port (``http://localhost:8765``, ``http://[::1]:8765``…).
    """
    port = settings.api.port
    origins = {Origin("http", name, port) for name in allowed_hosts(settings)}
    for value in settings.api.allowed_origins:
        origin = parse_origin(value)
        if origin is None:  # load_settings refuses these; a Settings built in code may still hold one
            raise ConfigError([f"$.api.allowed_origins: {value!r} is not a web origin such as http://localhost:3000"])
        origins.add(origin)
    return frozenset(origins)


def host_name(header: str) -> str:
    """The name part of a Host header: ``[::1]:8765`` → ``::1``, ``Example.org.:80`` → ``example.org``."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return name.rstrip(".")


@dataclass(frozen=True)
class GuardPolicy:
    hosts: frozenset[str]
    origins: frozenset[Origin]  # may send state-changing requests from a browser page
    api_key: str | None
    open_paths: frozenset[str]  # answered without a key
    open_prefixes: frozenset[str] = frozenset()  # so are paths under these (the page's static files)
    cookie: str = ""  # the session cookie's name

    def is_open(self, path: str) -> bool:
        if path in self.open_paths:
            return True
        # No dot segments: an open prefix must not lead, by "..", to a route that needs the key.
        return any(path.startswith(p) for p in self.open_prefixes) and not {".", ".."} & set(path.split("/"))


class GuardMiddleware:
    """ASGI middleware applying ``GuardPolicy`` to every HTTP request."""

    def __init__(self, app: ASGIApp, policy: GuardPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        body, extra = refusal
        await _send_problem(send, body, extra)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[Problem, dict[str, str]] | None:
        host = host_name(headers.get("host", ""))
        if host not in self.policy.hosts:
            log.warning("api.host_refused", host=host[:100])
            return problem(400, ApiCode.HOST_NOT_ALLOWED, "this server does not answer to that Host name"), {}
        origin = headers.get("origin")
        # "null" (a sandboxed frame, a file:// page) and anything unparsable are foreign too.
        writes = scope.get("method", "GET") not in _SAFE_METHODS
        if writes and origin is not None and parse_origin(origin) not in self.policy.origins:
            log.warning("api.origin_refused", origin=origin[:100], method=scope.get("method"))
            detail = "requests from other web origins are refused (api.allowed_origins lists the ones that may)"
            return problem(403, ApiCode.ORIGIN_NOT_ALLOWED, detail), {}
        key = self.policy.api_key
        if key is None or self.policy.is_open(scope.get("path", "")):
            return None
        offered = _offered_key(headers)
        if offered is not None:
            accepted = same_secret(offered, key)
        else:  # the web page's cookie, when no key came in a header
            offered = cookie_value(headers.get("cookie", ""), self.policy.cookie) if self.policy.cookie else None
            accepted = offered is not None and same_secret(offered, session_token(key))
        if not accepted:
            detail = "an API key is required" if offered is None else "the API key is wrong"
            return problem(401, ApiCode.UNAUTHORIZED, detail), {"www-authenticate": 'Bearer realm="photoindex"'}
        return None


def _offered_key(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return headers.get("x-api-key")


async def _send_problem(send: Send, body: Problem, extra: dict[str, str]) -> None:
    payload = msgspec.json.encode(body)
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
    ]
    await send({"type": "http.response.start", "status": body.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


__all__ = [
    "GuardMiddleware",
    "GuardPolicy",
    "allowed_hosts",
    "allowed_origins",
    "check_bind",
    "generate_api_key",
    "host_name",
    "is_loopback",
    "resolve_api_key",
]
