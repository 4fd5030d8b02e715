"""The installed photoindex version and the API version, as served by /health and /capabilities."""

from __future__ import annotations

import functools
from importlib import metadata

API_VERSION = "1"


@functools.cache
def package_version() -> str:
    try:
        return metadata.version("photoindex")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__all__ = ["API_VERSION", "package_version"]
