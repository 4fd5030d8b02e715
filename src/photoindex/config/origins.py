"""Web origins: ``scheme://host[:port]`` parsed into the triple the query API compares.

Two origins are the same when scheme, host and port all match (RFC 6454);
a default port is the same as no port (``http://localhost`` is
``http://localhost:80``). ``api.allowed_origins`` is validated with this parser
at load time, and the API's Origin check compares the triples it returns.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str  # lower case, without IPv6 brackets or a trailing dot
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_origin(value: str) -> Origin | None:
    """The origin ``value`` names, or None when it is not one (a path, a query, credentials, ``null``)."""
    if not value.isascii() or any(c.isspace() or ord(c) < 0x20 for c in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port out of range, an unclosed IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        return None
    return Origin(scheme, host, DEFAULT_PORTS[scheme] if port is None else port)


__all__ = ["DEFAULT_PORTS", "Origin", "parse_origin"]
