"""``photoindex open``: the web page's URL, and opening it in the default browser.

The running daemon says where its API listens (its status file); without one,
the configured address is the best guess, and the page answers there once
``photoindex serve`` (or the service) runs.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable

from photoindex.config import Settings

# A wildcard bind answers on loopback too; a browser cannot open the wildcard address itself.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def page_url(settings: Settings, running_api: str | None) -> tuple[str, bool]:
    """The web page's URL, and whether a running daemon reported it (its API at ``running_api``, read
    from its status file by the caller), else it comes from the config."""
    if running_api:
        return page_of(running_api), True
    host = _WILDCARDS.get(settings.api.host, settings.api.host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.api.port}/", False


def open_page(url: str, opener: Callable[[str], bool] | None = None) -> bool:
    """Open ``url`` in the default browser (``webbrowser.open``); False when there is none (a headless session)."""
    try:
        return bool((opener or webbrowser.open)(url))
    except webbrowser.Error:
        return False


def open_hints(*, running: bool, opened: bool | None) -> list[str]:
    """What to tell the user besides the URL; ``opened`` is None when only the URL was asked for."""
    hints = []
    if opened is not None and not running:
        hints.append("no daemon is running yet: start it with `photoindex serve` (or `photoindex service install`)")
    if opened is False:
        hints.append("no browser to open here: open the URL above yourself")
    return hints


def page_of(api_url: str) -> str:
    """The web page's URL from the API's (``http://host:port/api/v1`` → ``http://host:port/``)."""
    return api_url.rstrip("/").removesuffix("/api/v1") + "/"


__all__ = ["open_hints", "open_page", "page_of", "page_url"]
