"""The web page's sign-in: the API key, given once, kept by the browser as a cookie.

A page cannot add an ``Authorization`` header to ``<img src>`` requests, and
keeping the key in script-readable storage would hand it to any script that
ever ran on the page. So ``POST /api/v1/session`` takes the key once and
answers with an ``HttpOnly`` cookie the browser sends with every request to
this server, scripts never see, and other sites cannot make it send
(``SameSite=Strict``; writes are also held to the Origin check).

The cookie holds a token derived from the key, not the key: cookies ignore
ports, so every server on the same host name is sent it. The token opens this
API as the key does, but it is not the key a script or another client uses.
Its name carries the port, so two daemons on one machine do not overwrite
each other's.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar.datastructures import Cookie

COOKIE_PREFIX = "photoindex_session_"
_TOKEN_CONTEXT = b"photoindex web session v1"


def cookie_name(port: int) -> str:
    return f"{COOKIE_PREFIX}{port}"


def session_token(key: str) -> str:
    """What the cookie holds for ``key``: changes when the key does, and does not give the key away."""
    return hmac.new(key.encode(), _TOKEN_CONTEXT, hashlib.sha256).hexdigest()


def same_secret(offered: str, expected: str) -> bool:
    """Constant-time comparison that does not even reveal the expected length (both sides are hashed first)."""
    return hmac.compare_digest(hashlib.sha256(offered.encode()).digest(), hashlib.sha256(expected.encode()).digest())


def cookie_value(header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` request header, or None."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def session_cookie(port: int, key: str) -> Cookie:
    # No Secure flag: the API serves plain http:// only (loopback by default), and browsers refuse a
    # Secure cookie set over plain HTTP (at best they except localhost): a page at http://127.0.0.1
    # or http://nas.local could never sign in. SameSite=Strict and HttpOnly still apply.
    # No Max-Age either: the cookie lasts until the browser closes, not for days on a shared machine.
    return Cookie(
        key=cookie_name(port), value=session_token(key), path="/", httponly=True, samesite="strict", secure=False
    )


def cleared_cookie(port: int) -> Cookie:
    """The same cookie, empty and already expired: the browser drops it."""
    return Cookie(
        key=cookie_name(port), value="", path="/", httponly=True, samesite="strict", secure=False, max_age=0, expires=0
    )


__all__ = ["cleared_cookie", "cookie_name", "cookie_value", "same_secret", "session_cookie", "session_token"]
