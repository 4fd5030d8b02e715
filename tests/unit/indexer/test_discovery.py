"""Discovery finds image files by name or content and skips partial, hidden and out-of-root files."""

from __future__ import annotations

import os
from pathlib import Path

from photoindex.indexer.discovery import DiscoveryRules, canonical_root, is_partial_or_hidden, iter_files

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def names(root: Path, rules: DiscoveryRules | None = None) -> set[str]:
    found = iter_files([canonical_root(str(root))], rules or DiscoveryRules())
    return {os.path.relpath(f.path, canonical_root(str(root))) for f in found}


def test_finds_images_recursively_and_by_content(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.jpg").write_bytes(JPEG_HEAD)
    (tmp_path / "a" / "b" / "two.PNG").write_bytes(PNG_HEAD)
    (tmp_path / "no_extension").write_bytes(JPEG_HEAD)  # sniffed: a JPEG
    (tmp_path / "crash.fuzzed").write_bytes(PNG_HEAD)  # sniffed: a PNG
    (tmp_path / "notes.txt").write_bytes(JPEG_HEAD)  # a text extension is never sniffed
    (tmp_path / "random.bin").write_bytes(b"hello world" * 10)
    assert names(tmp_path) == {"a/one.jpg", "a/b/two.PNG", "no_extension", "crash.fuzzed"}


def test_skips_hidden_partial_and_temp_names(tmp_path: Path) -> None:
    for name in (".hidden.jpg", "x.jpg.part", "y.tmp", "~lock.jpg", ".IMG_1.jpg.Xa8f3Q", "z.crdownload", "ok.jpg"):
        (tmp_path / name).write_bytes(JPEG_HEAD)
    (tmp_path / ".thumbnails").mkdir()
    (tmp_path / ".thumbnails" / "t.jpg").write_bytes(JPEG_HEAD)
    assert names(tmp_path) == {"ok.jpg"}
    assert is_partial_or_hidden(".IMG_0001.JPG.a1B2c3")  # rsync's temporary name


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.jpg").write_bytes(JPEG_HEAD)
    (tmp_path / "b.jpg").write_bytes(JPEG_HEAD)
    (tmp_path / "c.png").write_bytes(PNG_HEAD)
    assert names(tmp_path, DiscoveryRules(exclude=("raw",))) == {"b.jpg", "c.png"}
    assert names(tmp_path, DiscoveryRules(include=("*.png",))) == {"c.png"}


def test_symlinks_not_followed_by_default_and_never_out_of_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(JPEG_HEAD)
    (root / "real.jpg").write_bytes(JPEG_HEAD)
    (root / "inside_link.jpg").symlink_to(root / "real.jpg")
    (root / "out_link").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    assert names(root) == {"real.jpg"}
    followed = names(root, DiscoveryRules(follow_symlinks=True))
    assert "inside_link.jpg" in followed
    assert not any(name.startswith("out_link") for name in followed)


def test_stat_facts_match_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.jpg"
    path.write_bytes(JPEG_HEAD)
    (facts,) = iter_files([canonical_root(str(tmp_path))], DiscoveryRules())
    st = path.stat()
    assert (facts.size, facts.mtime_ns, facts.inode) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert facts.root == canonical_root(str(tmp_path))


def test_unreadable_folder_is_reported_not_fatal(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "ok.jpg").write_bytes(JPEG_HEAD)
    unreadable: list[tuple[str, str]] = []
    list(iter_files([str(tmp_path / "missing")], DiscoveryRules(), unreadable))
    assert unreadable and unreadable[0][0].endswith("missing")
