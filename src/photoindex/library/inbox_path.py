"""Where uploads land: ``api.inbox``, or ``<data dir>/inbox`` (the daemon watches it like a library root)."""

from __future__ import annotations

from pathlib import Path

from photoindex.config import AppPaths, Settings
from photoindex.indexer.discovery import canonical_root


def resolve_inbox(settings: Settings, paths: AppPaths | None = None) -> Path:
    """The canonical inbox folder for these settings (it may not exist yet)."""
    if settings.api.inbox:
        return Path(canonical_root(settings.api.inbox))
    data_dir = (paths or AppPaths.from_settings(settings)).data_dir
    return Path(canonical_root(str(data_dir / "inbox")))


__all__ = ["resolve_inbox"]
