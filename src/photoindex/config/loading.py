"""Load settings from TOML plus ``PHOTOINDEX_<SECTION>__<KEY>`` overrides, reporting every problem.

Each key is validated on its own so that one bad value never hides another:
the resulting ``ConfigError`` lists one line per problem, each naming the
key path (``$.model.batch_size``) and what was expected.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from photoindex.config.origins import parse_origin
from photoindex.config.paths import default_config_file
from photoindex.config.settings import SECTIONS, Settings
from photoindex.errors import ConfigError

ENV_PREFIX = "PHOTOINDEX_"
CONFIG_ENV = "PHOTOINDEX_CONFIG"
_ENV_KEY = re.compile(r"^PHOTOINDEX_([A-Z0-9_]+?)__([A-Z0-9_]+)$")
_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")


@dataclass(frozen=True)
class LoadedSettings:
    """Settings together with where they came from."""

    settings: Settings
    source: Path  # the config file consulted (it may not exist)
    file_exists: bool
    overrides: tuple[str, ...]  # names of the environment variables that applied


def resolve_config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """``--config`` wins, then ``PHOTOINDEX_CONFIG``, then the platform's config dir."""
    if explicit:
        return Path(explicit).expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return default_config_file()


def load_settings(
    explicit: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Read the config file (if any), apply env overrides, validate everything."""
    env = os.environ if env is None else env
    path = resolve_config_path(explicit, env)
    raw: dict[str, object] = {}
    exists = path.is_file()
    if explicit and not exists:
        raise ConfigError([f"config file {path} does not exist"], source=str(path))
    if exists:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"not valid TOML: {exc}"], source=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"cannot read: {exc}"], source=str(path)) from None
    problems: list[str] = []
    overrides = _apply_env(raw, env, problems)
    settings = _validate(raw, problems)
    if problems or settings is None:
        raise ConfigError(problems, source=str(path))
    return LoadedSettings(settings, path, exists, tuple(overrides))


def _apply_env(raw: dict[str, object], env: Mapping[str, str], problems: list[str]) -> list[str]:
    applied = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        match = _ENV_KEY.match(name)
        if match is None:
            continue
        section, key = match.group(1).lower(), match.group(2).lower()
        if section not in SECTIONS:
            problems.append(f"{name}: unknown section {section!r}")
            continue
        text = env[name]
        value: object = text
        if text.lstrip().startswith(("[", "{")):
            # Lists and tables come as JSON: PHOTOINDEX_WATCH__FOLDERS='["/a","/b"]'.
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(f"{name}: not valid JSON ({exc.msg})")
                continue
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            problems.append(f"$.{section}: expected a table, got {type(table).__name__}")
            continue
        table[key] = value
        applied.append(name)
    return applied


def _validate(raw: dict[str, object], problems: list[str]) -> Settings | None:
    sections: dict[str, Any] = {}  # each section's struct, keyword arguments of Settings
    for section, value in raw.items():
        cls = SECTIONS.get(section)
        if cls is None:
            problems.append(f"$.{section}: unknown section (expected one of {', '.join(SECTIONS)})")
            continue
        if not isinstance(value, dict):
            problems.append(f"$.{section}: expected a table, got {type(value).__name__}")
            continue
        for key, item in value.items():
            if key not in cls.__struct_fields__:
                problems.append(f"$.{section}.{key}: unknown key (expected one of {', '.join(cls.__struct_fields__)})")
                continue
            try:
                # strict=False lets "8" from an environment variable become 8.
                msgspec.convert({key: item}, cls, strict=False)
            except msgspec.ValidationError as exc:
                problems.append(_rewrite(str(exc), section) + _choices(cls, key))
        with contextlib.suppress(msgspec.ValidationError):  # already reported key by key above
            sections[section] = msgspec.convert(value, cls, strict=False)
    if problems:
        return None
    settings = Settings(**sections)
    problems.extend(_check_values(settings))
    return None if problems else settings


def _rewrite(message: str, section: str) -> str:
    """msgspec says ``... - at `$.batch_size```; we say ``$.model.batch_size: ...``."""
    match = _MSGSPEC_PATH.search(message)
    if match is None:
        return f"$.{section}: {message}"
    return f"$.{section}{match.group(1)}: {message[: match.start()]}"


def _choices(cls: type[msgspec.Struct], key: str) -> str:
    """ " (expected one of: a, b)" for a field that takes a fixed set of strings; msgspec names only the bad one."""
    kind = typing.get_type_hints(cls).get(key)
    if typing.get_origin(kind) is not typing.Literal:
        return ""
    return " (expected one of: " + ", ".join(str(choice) for choice in typing.get_args(kind)) + ")"


def _check_values(settings: Settings) -> list[str]:
    """Range checks msgspec's types cannot express."""
    problems = []
    model = settings.model
    if model.batch_size < 0:
        problems.append("$.model.batch_size: expected 0 (automatic) or a positive number")
    if model.max_wait_ms < 0:
        problems.append("$.model.max_wait_ms: expected a number of milliseconds >= 0")
    if model.decode_workers < 0:
        problems.append("$.model.decode_workers: expected 0 (one per core) or a positive number")
    if model.decode_timeout_s <= 0:
        problems.append("$.model.decode_timeout_s: expected a positive number of seconds")
    if model.max_pixels < 1:
        problems.append("$.model.max_pixels: expected a positive number")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", model.device):
        problems.append(f"$.model.device: expected auto, cpu, cuda, cuda:N or mps, got {model.device!r}")
    if model.backend == "onnx" and model.device not in ("auto", "cpu"):
        problems.append(
            f'$.model.backend: "onnx" runs on the CPU (ONNX Runtime\'s CPU provider), but model.device is '
            f'{model.device!r}; set model.device = "cpu" or "auto", or model.backend = "torch" or "auto"'
        )
    if model.onnx_threads < 0:
        problems.append("$.model.onnx_threads: expected 0 (one per core) or a positive number")
    if model.quantize == "int8" and model.device not in ("auto", "cpu"):
        problems.append(
            f'$.model.quantize: "int8" runs on the CPU, but model.device is {model.device!r}; '
            'set model.device = "cpu" or "auto", or model.quantize = "none"'
        )
    if model.quantize == "int8" and model.backend == "torch":
        problems.append(
            '$.model.quantize: "int8" runs CLIP\'s image tower in ONNX Runtime; '
            'set model.backend = "onnx" or "auto", or model.quantize = "none"'
        )
    if not 0 < settings.api.port < 65536:
        problems.append(f"$.api.port: expected 1-65535, got {settings.api.port}")
    for index, origin in enumerate(settings.api.allowed_origins):
        if parse_origin(origin) is None:
            problems.append(
                f"$.api.allowed_origins[{index}]: expected a web origin such as http://localhost:3000 "
                f"(scheme, host and optional port; no path), got {origin!r}"
            )
    if model.idle_unload_s < 0:
        problems.append("$.model.idle_unload_s: expected 0 (never) or a positive number of seconds")
    watch = settings.watch
    for key in ("settle_s", "network_settle_s", "max_delay_s"):
        if getattr(watch, key) <= 0:
            problems.append(f"$.watch.{key}: expected a positive number of seconds")
    for key in ("rescan_interval_s", "network_rescan_interval_s"):
        if getattr(watch, key) < 0:
            problems.append(f"$.watch.{key}: expected 0 (only at start) or a positive number of seconds")
    if watch.max_pending < 100:
        problems.append("$.watch.max_pending: expected at least 100")
    for index, folder in enumerate(settings.watch.folders):
        if not folder.strip():
            problems.append(f"$.watch.folders[{index}]: expected a folder path, got an empty string")
    return problems
