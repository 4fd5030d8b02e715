"""Editing watch.folders keeps the user's file: comments, order, other keys; an invalid result is refused."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from photoindex.errors import ConfigError
from photoindex.library.config_file import write_watch_folders

ORIGINAL = """\
# my photoindex settings
[model]
captions = "off"  # no BLIP on this laptop

[watch]
# where the photos are
folders = [
    "/old/one",  # the first
    "/old/two",
]
exclude = ["*.tmp"]

[api]
port = 9000
"""


def test_in_place_edit_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ORIGINAL)
    os.chmod(path, 0o640)
    assert write_watch_folders(path, ["/new/a", "/new/[b]"]) is True
    text = path.read_text()
    assert (
        "# my photoindex settings" in text and "# no BLIP on this laptop" in text and "# where the photos are" in text
    )
    data = tomllib.loads(text)
    assert data["watch"] == {"folders": ["/new/a", "/new/[b]"], "exclude": ["*.tmp"]}
    assert data["api"] == {"port": 9000} and data["model"] == {"captions": "off"}
    assert path.stat().st_mode & 0o777 == 0o640


def test_missing_file_and_missing_section(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    write_watch_folders(path, ["/a"])
    assert tomllib.loads(path.read_text()) == {"watch": {"folders": ["/a"]}}
    assert path.stat().st_mode & 0o777 == 0o600
    other = tmp_path / "other.toml"
    other.write_text("[api]\nport = 9001\n")
    write_watch_folders(other, [])
    assert tomllib.loads(other.read_text()) == {"api": {"port": 9001}, "watch": {"folders": []}}


def test_section_without_folders_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[watch]\ninclude = ["*.jpg"]\n[api]\nport = 1\n')
    write_watch_folders(path, ["/x"])
    assert tomllib.loads(path.read_text())["watch"] == {"include": ["*.jpg"], "folders": ["/x"]}


def test_dotted_keys_are_rewritten_whole(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# comment\nwatch.folders = ["/a"]\n')
    assert write_watch_folders(path, ["/b"]) is False
    assert tomllib.loads(path.read_text()) == {"watch": {"folders": ["/b"]}}


def test_a_file_that_would_not_load_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[model]\nbatch_size = "many"\n')
    with pytest.raises(ConfigError):
        write_watch_folders(path, ["/a"])
    assert path.read_text() == '[model]\nbatch_size = "many"\n'
