"""Copies of one shot against another shot of the same scene: real files, the real decoder, near grouping."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance
from tests.fixtures.images import photo_image

from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.decoding.fingerprint import decode_fingerprint
from photoindex.indexer.decoding.phash import hamming
from photoindex.indexer.records import DecodedImage, DecodeRequest
from photoindex.library.captions_index import CaptionIndex
from photoindex.library.duplicates import near_groups
from photoindex.library.duplicates.verify import same_shot
from photoindex.library.snapshot import Snapshot
from photoindex.library.version import LibraryVersion

REQUEST = DecodeRequest(model_size=64)


def _scene(subject_x: int) -> Image.Image:
    """A wide scene with a dark subject in front; shots are windows onto it."""
    scene = photo_image((1400, 1050), seed=21)
    ImageDraw.Draw(scene).ellipse((subject_x, 300, subject_x + 260, 560), fill=(30, 30, 40))
    return scene


def _shot(scene: Image.Image, left: float, top: float, scale: float) -> Image.Image:
    width, height = 1200 * scale, 900 * scale
    return scene.resize((960, 720), Image.Resampling.LANCZOS, box=(left, top, left + width, top + height))


def _jpeg(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=options.pop("quality", 92), **options)
    return out.getvalue()


def _files(tmp_path: Path) -> dict[str, Path]:
    shot = _shot(_scene(500), 100, 75, 1.0)
    # Another shot a step to the side: the subject moved against the background, the camera turned 3°.
    turned = _scene(580).rotate(3, resample=Image.Resampling.BICUBIC, center=(700, 525))
    other = _shot(turned, 130, 95, 0.97)
    w, h = shot.size
    exif = Image.Exif()
    exif[0x0112] = 6
    retoned = ImageEnhance.Color(ImageEnhance.Brightness(shot).enhance(1.08)).enhance(0.9)
    contents = {
        "shot.jpg": _jpeg(shot),
        "resize50.jpg": _jpeg(shot.resize((w // 2, h // 2), Image.Resampling.LANCZOS), quality=85),
        "q35.jpg": _jpeg(shot, quality=35),
        "crop.jpg": _jpeg(shot.crop((20, 12, w - 14, h - 10))),
        "rotated.jpg": _jpeg(shot.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes()),
        "retoned.jpg": _jpeg(retoned),
        "other_shot.jpg": _jpeg(other),
    }
    out = io.BytesIO()
    shot.save(out, "WEBP", quality=80)
    contents["shot.webp"] = out.getvalue()
    paths = {}
    for name, data in contents.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def _snapshot(decoded: list[DecodedImage], paths: list[Path]) -> Snapshot:
    n = len(decoded)
    sha = b"".join(hashlib.sha256(p.read_bytes()).digest() for p in paths)
    return Snapshot(
        version=LibraryVersion(n, n, 0),
        ids=np.frombuffer(b"".join(uuid.uuid4().bytes for _ in range(n)), dtype="V16"),
        status=np.zeros(n, np.uint8),
        size=np.array([p.stat().st_size for p in paths], np.int64),
        width=np.array([d.metadata.width for d in decoded], np.int32),
        height=np.array([d.metadata.height for d in decoded], np.int32),
        mtime_ns=np.arange(n, dtype=np.int64),
        sha256=np.frombuffer(sha, dtype="V32"),
        phash=np.array([int(d.phash, 16) for d in decoded], np.uint64),
        has_phash=np.ones(n, bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
    )


def test_copies_join_and_another_shot_of_the_scene_stays_apart(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    names = list(paths)
    decoded = [decode_photo(str(paths[n]), REQUEST) for n in names]
    by_name = dict(zip(names, decoded, strict=True))
    prints = {n: decode_fingerprint(d.fingerprint) for n, d in by_name.items()}
    # The other shot is a perceptual-hash candidate: the hash alone would call it a copy.
    assert hamming(by_name["shot.jpg"].phash, by_name["other_shot.jpg"].phash) <= 10

    for name in names:
        if name != "other_shot.jpg":
            assert same_shot(prints["shot.jpg"], prints[name]), name
            assert not same_shot(prints["other_shot.jpg"], prints[name]), name

    snap = _snapshot(decoded, [paths[n] for n in names])
    unverified = near_groups(snap)
    assert [len(g.rows) for g in unverified] == [len(names)]  # what near grouping did before
    (group,) = near_groups(snap, fingerprints=lambda rows: [prints[names[r]] for r in rows])
    assert sorted(names[r] for r in group.rows) == sorted(n for n in names if n != "other_shot.jpg")


def test_the_fingerprint_does_not_depend_on_the_models_input_size(tmp_path: Path) -> None:
    # A small model alone would have the decoder shrink the photo to 2 × 32 px, and the 32 px
    # fingerprint taken from that is too blurred to tell a crop from a re-shot.
    path = _files(tmp_path)["shot.jpg"]
    small_model = decode_photo(str(path), DecodeRequest(model_size=32))
    clip_sized = decode_photo(str(path), DecodeRequest(model_size=224))
    assert small_model.fingerprint == clip_sized.fingerprint
