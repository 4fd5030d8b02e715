"""The installed photoindex version; importing it loads nothing else (the daemon without its API reads it)."""

from __future__ import annotations

import functools
from importlib import metadata


@functools.cache
def package_version() -> str:
    try:
        return metadata.version("photoindex")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__all__ = ["package_version"]
