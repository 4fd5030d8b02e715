"""Where photoindex keeps its files: the only module that asks platformdirs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from photoindex.config.settings import Settings

APP_NAME = "photoindex"


def default_config_file() -> Path:
    """The platform's per-user config file (``~/.config/photoindex/config.toml`` on Linux)."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


@dataclass(frozen=True)
class AppPaths:
    """Resolved folders: data (the index), cache (thumbnails), state (locks, ids, logs)."""

    data_dir: Path
    cache_dir: Path
    state_dir: Path
    store_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> AppPaths:
        over = settings.paths
        data = Path(over.data_dir).expanduser() if over.data_dir else platformdirs.user_data_path(APP_NAME)
        cache = Path(over.cache_dir).expanduser() if over.cache_dir else platformdirs.user_cache_path(APP_NAME)
        state = Path(over.state_dir).expanduser() if over.state_dir else platformdirs.user_state_path(APP_NAME)
        store = Path(settings.store.path).expanduser() if settings.store.path else data / "store"
        return cls(data_dir=data, cache_dir=cache, state_dir=state, store_dir=store)

    def ensure(self) -> None:
        """Create the folders (private to the user) if they are missing."""
        for folder in (self.data_dir, self.cache_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
