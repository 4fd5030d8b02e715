"""Thumbnails are small RGB JPEGs, content-addressed, written atomically and never twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from tests.fixtures.images import photo_image

from photoindex.indexer.decoding.thumbnails import thumbnail_path, write_thumbnail

SHA = "ab" + "0" * 62


def test_path_is_content_addressed(tmp_path: Path) -> None:
    assert thumbnail_path(tmp_path, SHA) == tmp_path / "thumbs" / "ab" / f"{SHA}.jpg"
    assert thumbnail_path(str(tmp_path), SHA.upper()) == tmp_path / "thumbs" / "ab" / f"{SHA}.jpg"
    with pytest.raises(ValueError, match="hex"):
        thumbnail_path(tmp_path, "../../etc/passwd")


@pytest.mark.parametrize(
    ("size", "expected"), [((1600, 900), (200, 112)), ((300, 1200), (50, 200)), ((120, 80), (120, 80))]
)
def test_longest_side_at_most_200(tmp_path: Path, size: tuple[int, int], expected: tuple[int, int]) -> None:
    target = thumbnail_path(tmp_path, SHA)
    assert write_thumbnail(photo_image(size), target)
    with Image.open(target) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", expected)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left behind


def test_existing_thumbnail_is_not_rewritten(tmp_path: Path) -> None:
    target = thumbnail_path(tmp_path, SHA)
    assert write_thumbnail(photo_image((400, 300)), target)
    before = target.stat().st_mtime_ns, target.read_bytes()
    assert not write_thumbnail(photo_image((400, 300), seed=9), target)
    assert (target.stat().st_mtime_ns, target.read_bytes()) == before


def test_non_rgb_input_and_custom_size(tmp_path: Path) -> None:
    target = tmp_path / "t.jpg"
    assert write_thumbnail(photo_image((500, 500)).convert("RGBA"), target, max_px=64)
    with Image.open(target) as thumb:
        assert (thumb.mode, thumb.size) == ("RGB", (64, 64))


def test_failed_write_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "t.jpg"
    with pytest.raises(ValueError, match="quality"):
        write_thumbnail(Image.new("RGB", (10, 10)), target, quality="best")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
