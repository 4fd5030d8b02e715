"""Point ids are deterministic per (host, path); ancestor folders drive path_prefix filters."""

from __future__ import annotations

import uuid

import pytest

from photoindex.indexer.store import META_POINT_ID, ancestor_dirs, point_id
from photoindex.indexer.store.points import normalize_dir, with_derived_fields

PINNED = "8e3b0791-4019-54aa-98a4-0b46064afd6a"


def test_point_id_is_a_stable_uuid_per_host_and_path() -> None:
    a = point_id("host-a", "/photos/2020/a.jpg")
    assert a == point_id("host-a", "/photos/2020/a.jpg")
    assert uuid.UUID(a).version == 5
    assert a != point_id("host-b", "/photos/2020/a.jpg")
    assert a != point_id("host-a", "/photos/2020/b.jpg")
    assert point_id("ab", "c") != point_id("a", "bc")


def test_point_id_is_pinned_across_releases() -> None:
    # Changing this value re-ids every stored photo: a full re-index for every user.
    assert point_id("host-a", "/photos/a.jpg") == PINNED


def test_point_id_needs_a_host() -> None:
    with pytest.raises(ValueError, match="host_id"):
        point_id("", "/a.jpg")


def test_the_meta_point_id_can_never_be_a_photo_id() -> None:
    assert uuid.UUID(META_POINT_ID).version != 5


@pytest.mark.parametrize(
    ("path", "dirs"),
    [
        ("/a/b/c.jpg", ["/a", "/a/b"]),
        ("/a/c.jpg", ["/a"]),
        ("/c.jpg", []),
        (
            "/home/me/Pictures/2024/06/IMG 0001.HEIC",
            ["/home", "/home/me", "/home/me/Pictures", "/home/me/Pictures/2024", "/home/me/Pictures/2024/06"],
        ),
        ("/a//b/./c.jpg", ["/a", "/a/b"]),
    ],
)
def test_ancestor_dirs_lists_every_folder_above_the_file(path: str, dirs: list[str]) -> None:
    assert ancestor_dirs(path) == dirs


@pytest.mark.parametrize(
    ("folder", "normal"), [("/a/b", "/a/b"), ("/a/b/", "/a/b"), ("/", None), ("", None), ("/a//b", "/a/b")]
)
def test_a_folder_is_spelled_as_ancestor_dirs_spells_it(folder: str, normal: str | None) -> None:
    assert normalize_dir(folder) == normal


def test_with_derived_fields_fills_kind_and_dirs_without_overriding() -> None:
    assert with_derived_fields({"path": "/a/b.jpg"}) == {"path": "/a/b.jpg", "kind": "photo", "dirs": ["/a"]}
    given = {"path": "/a/b.jpg", "dirs": ["/a"], "kind": "photo"}
    assert with_derived_fields(given) == given and with_derived_fields(given) is not given
