"""Change ``[watch] folders`` in the config file without disturbing the rest of it.

The file is the user's: comments, order and formatting stay. Only the
``folders = [...]`` assignment inside ``[watch]`` is replaced (or added).
The edited text must parse to exactly the old settings with the new folder
list, and must validate, before it atomically replaces the file; a layout
this cannot edit in place (dotted keys, an inline ``watch`` table) is
rewritten whole with tomli-w instead, which loses comments and says so.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
import tomllib
from pathlib import Path

import structlog
import tomli_w

from photoindex.config import load_settings

log = structlog.get_logger(__name__)

_WATCH_HEADER = re.compile(r"^\s*\[\s*watch\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_FOLDERS_KEY = re.compile(r"^\s*(folders|\"folders\"|'folders')\s*=")


def write_watch_folders(path: Path, folders: list[str]) -> bool:
    """Set ``watch.folders`` in the file at ``path`` (created if missing); True when comments were kept."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    data = tomllib.loads(text)
    expected = copy.deepcopy(data)
    expected.setdefault("watch", {})["folders"] = list(folders)
    edited = _edit_in_place(text, folders)
    kept = edited is not None and _parses_to(edited, expected)
    if not kept:
        log.warning("config.rewritten_whole", path=str(path), detail="comments in the config file were not kept")
        edited = tomli_w.dumps(expected)
    assert edited is not None
    _validate(path, edited)
    _replace(path, edited)
    return kept


def _edit_in_place(text: str, folders: list[str]) -> str | None:
    lines = text.splitlines(keepends=True)
    rendered = tomli_w.dumps({"folders": list(folders)})
    header = next((i for i, line in enumerate(lines) if _WATCH_HEADER.match(line)), None)
    if header is None:
        if re.search(r"^\s*watch\s*[.=]", text, re.MULTILINE):
            return None  # `watch = {...}` or `watch.folders = ...`: not editable line by line
        separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{separator}[watch]\n{rendered}"
    end = next((i for i in range(header + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines))
    for index in range(header + 1, end):
        if _FOLDERS_KEY.match(lines[index]):
            stop = _value_end(lines, index)
            if stop is None:
                return None
            return "".join([*lines[:index], rendered, *lines[stop + 1 :]])
    return "".join([*lines[: header + 1], rendered, *lines[header + 1 :]])


def _value_end(lines: list[str], start: int) -> int | None:
    """The line on which the array assigned at ``lines[start]`` closes (strings and comments skipped)."""
    depth, seen_open, quote = 0, False, ""
    for index in range(start, len(lines)):
        line = lines[index]
        pos = line.index("=") + 1 if index == start else 0
        while pos < len(line):
            char = line[pos]
            if quote:
                if char == "\\" and quote == '"':
                    pos += 2
                    continue
                if char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char == "#":
                break
            elif char == "[":
                depth, seen_open = depth + 1, True
            elif char == "]":
                depth -= 1
                if depth == 0:
                    return index
            elif not seen_open and not char.isspace():
                return None  # not an array: leave such a file to the whole rewrite
            pos += 1
    return None


def _parses_to(text: str, expected: dict[str, object]) -> bool:
    try:
        return tomllib.loads(text) == expected
    except tomllib.TOMLDecodeError:
        return False


def _validate(path: Path, text: str) -> None:
    """Raise ``ConfigError`` if the new text would not load (checked on a temporary copy)."""
    fd, temp = tempfile.mkstemp(dir=path.parent if path.parent.exists() else None, suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        load_settings(temp, env={})
    finally:
        os.unlink(temp)


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


__all__ = ["write_watch_folders"]
