"""Settings: what they are, where they live, how they are loaded and validated."""

from photoindex.config.loading import LoadedSettings, load_settings, resolve_config_path
from photoindex.config.paths import AppPaths, default_config_file
from photoindex.config.settings import (
    ApiSettings,
    CacheSettings,
    ModelSettings,
    PathSettings,
    Settings,
    StoreSettings,
    WatchSettings,
)

__all__ = [
    "ApiSettings",
    "AppPaths",
    "CacheSettings",
    "LoadedSettings",
    "ModelSettings",
    "PathSettings",
    "Settings",
    "StoreSettings",
    "WatchSettings",
    "default_config_file",
    "load_settings",
    "resolve_config_path",
]
