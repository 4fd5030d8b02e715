"""The indexing pipeline end to end on real files, tiny real models and both store adapters."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.captions import caption_pending, pending_caption_count
from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.decoding.thumbnails import thumbnail_path
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.pipeline import IndexPipeline
from photoindex.indexer.records import DecodeRequest
from photoindex.indexer.store import PhotoFilter, VectorStore, payload_to_dict
from photoindex.indexer.summary import IndexSummary
from tests.fixtures.models import tiny_clip_embedder
from tests.integration.conftest import TINY_SIZE, make_photo, make_pipeline, working_models

pytestmark = pytest.mark.anyio


async def scan(pipeline: IndexPipeline, root: Path) -> IndexSummary:
    """A complete scan of one root, as ``photoindex index`` does it."""
    canonical = canonical_root(str(root))
    files = list(iter_files([canonical], DiscoveryRules()))
    summary = await pipeline.run(files)
    await pipeline.remove_missing(canonical, {f.path for f in files}, summary)
    return summary


def library(root: Path, n: int = 6) -> list[Path]:
    return [make_photo(root / ("sub" if i % 2 else "") / f"p{i}.jpg", seed=i) for i in range(n)]


def paths_in(store: VectorStore, status: str = "indexed") -> set[str]:
    return {p.payload.path for p in store.scroll(flt=PhotoFilter(statuses=(status,)))}


async def test_index_then_rerun_does_no_work(store: VectorStore, decoder: DecodePool, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    photos = library(lib)
    pipeline = make_pipeline(store, decoder, working_models(), tmp_path)
    first = await scan(pipeline, lib)
    assert (first.indexed, first.failed_total, first.embedded_images) == (len(photos), 0, len(photos))
    assert paths_in(store) == {str(p.resolve()) for p in photos}
    point = next(iter(store.scroll(with_vectors=True)))
    assert point.vector is not None and point.vector.shape == (store.dim,)
    assert thumbnail_path(tmp_path / "cache", point.payload.sha256).is_file()

    second = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert second.unchanged == len(photos)
    assert (second.indexed, second.decoded_images, second.embedded_images) == (0, 0, 0)
    assert "hash" not in second.stage_s  # not even read


async def test_rename_move_copy_and_delete_never_reembed(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    library(lib)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    before = {p.payload.sha256: p.vector for p in store.scroll(with_vectors=True)}

    (lib / "p0.jpg").rename(lib / "renamed.jpg")  # rename
    shutil.move(lib / "sub", lib / "moved")  # a directory of 3 photos
    shutil.copy2(lib / "p2.jpg", lib / "copy.jpg")  # a copy
    (lib / "p4.jpg").unlink()  # a deletion
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)

    assert (summary.moved, summary.reused, summary.deleted) == (4, 1, 1)
    assert (summary.embedded_images, summary.decoded_images) == (0, 0)
    on_disk = {str(p.resolve()) for p in lib.rglob("*.jpg")}
    assert paths_in(store) == on_disk
    assert store.count() == len(on_disk)  # no orphan points
    for point in store.scroll(with_vectors=True):
        assert np.allclose(point.vector, before[point.payload.sha256])  # the same vectors, re-pointed


async def test_copies_new_in_one_run_are_embedded_once(store: VectorStore, decoder: DecodePool, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    original = make_photo(lib / "a.jpg", seed=1)
    for name in ("b.jpg", "c.jpg"):
        shutil.copy2(original, lib / name)
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert summary.embedded_images == 1
    assert summary.indexed + summary.reused == 3
    assert len(paths_in(store)) == 3


async def test_changed_content_is_reindexed_and_touch_is_not(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    photos = library(lib, 3)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    make_photo(photos[0], seed=99)  # new content, same path
    os.utime(photos[1], ns=(1_000_000_000, 1_000_000_000))  # new mtime, same content
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert (summary.indexed, summary.touched, summary.unchanged, summary.embedded_images) == (1, 1, 1, 1)
    (changed,) = store.scroll(flt=PhotoFilter(paths=(str(photos[0].resolve()),)))
    assert changed.payload.size == photos[0].stat().st_size


async def test_bad_files_fail_alone_with_codes(store: VectorStore, decoder: DecodePool, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    photos = library(lib, 4)
    (lib / "empty.jpg").write_bytes(b"")
    (lib / "truncated.jpg").write_bytes(photos[0].read_bytes()[:2000])
    (lib / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    pipeline = make_pipeline(store, decoder, working_models(), tmp_path)
    summary = await scan(pipeline, lib)
    assert summary.indexed == 4
    assert summary.failed[ErrorCode.EMPTY_FILE] == 1
    assert summary.failed[ErrorCode.TRUNCATED] == 1
    assert sum(summary.failed.values()) == 3
    failed = {p.payload.name: payload_to_dict(p.payload) for p in store.scroll(flt=PhotoFilter(statuses=("failed",)))}
    assert failed["empty.jpg"]["error_code"] == ErrorCode.EMPTY_FILE
    assert failed["truncated.jpg"]["error_message"]
    # Known failures are not retried while the file is unchanged...
    again = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert sum(again.failed_unchanged.values()) == 3 and not again.failed and again.decoded_images == 0
    # ...and are retried once it changes.
    shutil.copy2(photos[1], lib / "truncated.jpg")
    fixed = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert fixed.reused == 1 and sum(fixed.failed_unchanged.values()) == 2


async def test_search_by_own_pixels_returns_the_photo_first(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    photos = library(lib, 8)
    await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    embedder = tiny_clip_embedder()
    for photo in photos:
        pixels = decode_photo(str(photo), DecodeRequest(model_size=TINY_SIZE)).pixels
        (hit, *_rest) = store.search(embedder.embed_images(pixels[None])[0], limit=3)
        assert hit.payload.path == str(photo.resolve())
        assert hit.score > 0.999


async def test_models_unavailable_then_pending_photos_get_embedded(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    def offline() -> object:
        raise ModelError("no network to download weights", code=ErrorCode.MODEL_UNAVAILABLE)

    lib = tmp_path / "lib"
    photos = library(lib, 4)
    broken = ModelWorker(offline)  # type: ignore[arg-type]
    summary = await scan(make_pipeline(store, decoder, broken, tmp_path), lib)
    assert (summary.pending, summary.indexed, summary.embedded_images) == (4, 0, 0)
    pending = list(store.scroll(flt=PhotoFilter(statuses=("pending",))))
    assert len(pending) == 4 and all(p.vector is None and p.payload.width == 320 for p in pending)
    assert all(thumbnail_path(tmp_path / "cache", p.payload.sha256).is_file() for p in pending)
    assert store.search(np.ones(store.dim, dtype=np.float32), limit=5) == []
    broken.close()

    later = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert (later.indexed, later.embedded_images, later.unchanged) == (4, 4, 0)
    assert paths_in(store) == {str(p.resolve()) for p in photos}


async def test_inline_captions(store: VectorStore, decoder: DecodePool, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    library(lib, 3)
    summary = await scan(make_pipeline(store, decoder, working_models(captions=True), tmp_path, captions="inline"), lib)
    assert summary.captioned == 3
    for point in store.scroll():
        assert point.payload.caption_status == "done" and isinstance(point.payload.caption, str)


async def test_deferred_captions_make_photos_searchable_first(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    library(lib, 5)
    models = working_models(captions=True)
    pipeline = make_pipeline(store, decoder, models, tmp_path, captions="deferred")
    summary = await scan(pipeline, lib)
    assert summary.indexed == 5 and summary.captioned == 0
    assert pending_caption_count(store) == 5
    assert len(store.search(np.ones(store.dim, dtype=np.float32), limit=10)) == 5  # searchable already
    done = await caption_pending(pipeline.writer, decoder, models, model_size=TINY_SIZE, batch_size=2)
    assert done == 5 and pending_caption_count(store) == 0
    assert all(p.payload.caption for p in store.scroll())


async def test_metadata_raw_and_filters_reach_the_store(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    from tests.fixtures.images import make_dng_with_preview, make_dng_without_preview, make_jpeg, truncate

    lib = tmp_path / "lib"
    lib.mkdir()
    make_jpeg(
        lib / "gps.jpg",
        seed=1,
        gps=(48.8584, 2.2945, 35.0),
        taken_at="2023:07:14 21:30:00",
        make="Canon",
        model="EOS R6",
        orientation=6,
    )
    make_jpeg(lib / "plain.jpg", seed=2)
    make_dng_with_preview(lib / "with_preview.dng", seed=3)
    make_dng_without_preview(lib / "without_preview.dng", seed=4)
    truncate(make_jpeg(lib / "cut.jpg", seed=5), 0.4)
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert (summary.indexed, dict(summary.failed)) == (4, {ErrorCode.TRUNCATED: 1})

    by_name = {p.payload.name: payload_to_dict(p.payload) for p in store.scroll()}
    gps = by_name["gps.jpg"]
    assert (gps["camera_make"], gps["camera_model"]) == ("Canon", "EOS R6")
    assert gps["gps_lat"] == pytest.approx(48.8584, abs=1e-4) and gps["gps_lon"] == pytest.approx(2.2945, abs=1e-4)
    assert gps["taken_at"].startswith("2023-07-14T21:30:00")
    assert (gps["width"], gps["height"]) == (480, 640)  # orientation 6: displayed portrait
    assert {by_name["with_preview.dng"]["format"], by_name["without_preview.dng"]["format"]} == {"DNG"}

    with_gps = list(store.scroll(flt=PhotoFilter(has_gps=True)))
    assert [p.payload.name for p in with_gps] == ["gps.jpg"]
    canon = {p.payload.name for p in store.scroll(flt=PhotoFilter(camera_makes=("Canon",), statuses=("indexed",)))}
    assert canon == {"gps.jpg", "with_preview.dng", "without_preview.dng"}
    taken_2023 = PhotoFilter(taken_from_ts=1672531200.0, taken_to_ts=1704067200.0)
    assert [p.payload.name for p in store.scroll(flt=taken_2023)] == ["gps.jpg"]


async def test_copies_arriving_while_their_content_is_being_written_are_not_reembedded(
    store: VectorStore, decoder: DecodePool, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    originals = [make_photo(lib / f"o{i}.jpg", seed=10 + i) for i in range(4)]
    # Many copies, listed after their originals: they are hashed while the originals are embedded or written.
    for index in range(40):
        shutil.copy2(originals[index % 4], lib / f"z_copy{index:02}.jpg")
    summary = await scan(make_pipeline(store, decoder, working_models(), tmp_path), lib)
    assert summary.embedded_images == 4
    assert summary.indexed + summary.reused == 44
    assert store.count() == 44
