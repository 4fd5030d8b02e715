"""The system's headless Chromium, as the web page's benchmark and browser tests launch it.

Chromium comes from the system (``apt-get install chromium``), never from
``playwright install``.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def find_chromium() -> str | None:
    """The system Chromium's executable, or None when there is none."""
    return next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None) or shutil.which("chromium")


__all__ = ["CHROMIUM_ARGS", "CHROMIUM_PATHS", "find_chromium"]
