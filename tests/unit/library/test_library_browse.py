"""Folder browsing stays inside the allow-list, after resolving symlinks and '..'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photoindex.library.browse import Browser
from photoindex.library.errors import Rejected


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Browser, Path, Path]:
    allowed = tmp_path / "home"
    secret = tmp_path / "secret"
    for folder in (allowed / "Pictures" / "2023", allowed / ".hidden", allowed / "b", secret / "keys"):
        folder.mkdir(parents=True)
    (allowed / "file.jpg").write_bytes(b"x")
    os.symlink(secret, allowed / "escape")
    os.symlink(allowed / "b", allowed / "inside-link")
    return Browser((str(allowed),)), allowed, secret


def test_lists_subfolders_sorted_without_hidden_or_files(tree: tuple[Browser, Path, Path]) -> None:
    browser, allowed, _secret = tree
    listing = browser.list(str(allowed))
    names = [e.name for e in listing.entries]
    assert names == ["b", "inside-link", "Pictures"]
    assert listing.parent is None  # the top of the allow-list
    assert "escape" not in names  # a link out of the allow-list is not offered
    assert ".hidden" in [e.name for e in browser.list(str(allowed), hidden=True).entries]
    assert browser.list(str(allowed / "Pictures")).parent == str(allowed)


def test_roots_listed_without_a_path(tree: tuple[Browser, Path, Path]) -> None:
    browser, allowed, _secret = tree
    assert [e.path for e in browser.list(None).entries] == [str(allowed)]


@pytest.mark.parametrize(
    "attempt", ["{secret}", "{allowed}/../secret", "{allowed}/escape", "{allowed}/escape/keys", "/"]
)
def test_outside_the_allow_list_is_forbidden(tree: tuple[Browser, Path, Path], attempt: str) -> None:
    browser, allowed, secret = tree
    with pytest.raises(Rejected) as caught:
        browser.list(attempt.format(allowed=allowed, secret=secret))
    assert caught.value.reason == "forbidden"


@pytest.mark.parametrize("bad", ["relative/path", "", "/a\0b", "/" + "x" * 5000])
def test_malformed_paths_are_invalid(tree: tuple[Browser, Path, Path], bad: str) -> None:
    browser, _allowed, _secret = tree
    with pytest.raises(Rejected) as caught:
        browser.list(bad)
    assert caught.value.reason == "invalid"


def test_not_a_folder(tree: tuple[Browser, Path, Path]) -> None:
    browser, allowed, _secret = tree
    with pytest.raises(Rejected):
        browser.list(str(allowed / "file.jpg"))
    with pytest.raises(Rejected):
        browser.list(str(allowed / "missing"))
