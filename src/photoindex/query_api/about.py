"""The installed photoindex version and the API version, as served by /health and /capabilities."""

from __future__ import annotations

from photoindex.version import package_version

API_VERSION = "1"

__all__ = ["API_VERSION", "package_version"]
