"""Taken dates through the real pipeline: EXIF, else the file name, else the mtime; copies get their own."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.store import PhotoFilter, VectorStore, payload_to_dict
from tests.fixtures.images import make_jpeg, make_png
from tests.integration.conftest import make_pipeline, working_models
from tests.integration.test_pipeline import scan

pytestmark = pytest.mark.anyio

MTIME = datetime(2022, 8, 9, 10, 11, 12, tzinfo=UTC)
MAY_14 = PhotoFilter(
    taken_from_ts=datetime(2023, 5, 14, tzinfo=UTC).timestamp(),
    taken_to_ts=datetime(2023, 5, 15, tzinfo=UTC).timestamp(),
)


def _set_mtime(path: Path, when: datetime = MTIME) -> None:
    ns = int(when.timestamp() * 1e9)
    os.utime(path, ns=(ns, ns))


async def test_dates_come_from_exif_then_the_name_then_the_mtime(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    make_jpeg(lib / "IMG_20230514_153012.jpg", seed=1, taken_at="2021:06:01 10:00:00")  # EXIF wins
    make_jpeg(lib / "PXL_20230514_153012345.jpg", seed=2)
    make_png(lib / "Screenshot 2023-05-14 at 15.30.12.png", (400, 300), seed=3)
    make_jpeg(lib / "IMG-20230514-WA0001.jpg", seed=4)
    make_jpeg(lib / "holiday.jpg", seed=5)
    make_jpeg(lib / "IMG_20231399_101010.jpg", seed=6)  # no such day: the mtime it is
    for path in lib.iterdir():
        _set_mtime(path)
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert summary.indexed == 6

    by_name = {p.payload.name: payload_to_dict(p.payload) for p in store.scroll()}
    dated = {name: (p.get("taken_at"), p.get("taken_at_source")) for name, p in by_name.items()}
    local_mtime = MTIME.astimezone().isoformat(timespec="seconds")
    assert dated == {
        "IMG_20230514_153012.jpg": ("2021-06-01T10:00:00", "exif"),
        "PXL_20230514_153012345.jpg": ("2023-05-14T15:30:12", "filename"),
        "Screenshot 2023-05-14 at 15.30.12.png": ("2023-05-14T15:30:12", "filename"),
        "IMG-20230514-WA0001.jpg": ("2023-05-14", "filename"),
        "holiday.jpg": (local_mtime, "mtime"),
        "IMG_20231399_101010.jpg": (local_mtime, "mtime"),
    }
    assert by_name["holiday.jpg"]["taken_at_ts"] == pytest.approx(MTIME.timestamp(), abs=1e-6)

    # The date filter finds what EXIF alone never dated.
    found = {p.payload.name for p in store.scroll(flt=MAY_14)}
    assert found == {"PXL_20230514_153012345.jpg", "Screenshot 2023-05-14 at 15.30.12.png", "IMG-20230514-WA0001.jpg"}


async def test_a_copy_or_a_rename_reads_its_own_name_and_mtime(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    make_jpeg(lib / "IMG-20230514-WA0001.jpg", seed=7)
    make_jpeg(lib / "exif.jpg", seed=8, taken_at="2021:06:01 10:00:00")
    for path in lib.iterdir():
        _set_mtime(path)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)

    shutil.copyfile(lib / "IMG-20230514-WA0001.jpg", lib / "IMG-20240101-WA0002.jpg")  # same bytes, another name
    shutil.copyfile(lib / "exif.jpg", lib / "exif_copy.jpg")
    (lib / "IMG-20230514-WA0001.jpg").rename(lib / "kept.jpg")  # the name's date goes with the old name
    later = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    for name in ("IMG-20240101-WA0002.jpg", "exif_copy.jpg", "kept.jpg"):
        _set_mtime(lib / name, later)
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert summary.embedded_images == 0  # copies and renames reuse what was stored

    dated = {p.payload.name: (p.payload.taken_at, p.payload.taken_at_source) for p in store.scroll()}
    assert dated == {
        "IMG-20240101-WA0002.jpg": ("2024-01-01", "filename"),
        "kept.jpg": (later.astimezone().isoformat(timespec="seconds"), "mtime"),
        "exif.jpg": ("2021-06-01T10:00:00", "exif"),
        "exif_copy.jpg": ("2021-06-01T10:00:00", "exif"),  # the content's own date
    }
