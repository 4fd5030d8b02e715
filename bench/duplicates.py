"""Duplicate detection quality and speed: exact and near duplicates on a generated set with known answers.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/duplicates.py            # every usable corpus photo
    HF_HUB_OFFLINE=1 .venv/bin/python bench/duplicates.py --quick    # 16 sources (what the test runs)

1. Sources: photos from the shared corpus (``../shared/corpus/photos``),
   upright, scaled to at most 1600 px; flat images (whose hash carries no
   picture) are left out. The corpus is a camera test set: it holds the same
   scene many times. Its re-shots (a colour chart shot by many cameras, an
   iPhone's and a Sony's frames of one subject) stay in as hard negatives:
   each is its own shot. Its own copies of one shot (an orientation series,
   WebP and PNG twins of a JPEG, a CMYK file without its profile) count as
   one shot: ``CORPUS_COPIES``, by inspection.
2. For each source: the photo, a byte-identical copy, 50 % and 25 % resizes,
   a JPEG recompressed at quality 35, PNG and WebP re-encodes, a crop of 1-5 %
   per side pair (seeded), an EXIF-rotated copy (pixels turned, the tag
   turns them back) and a re-toned copy (brightness and contrast ±10 %,
   saturation ±15 %, seeded). Plus generated photos that have no duplicate.
3. All of it is indexed by the real pipeline (decode pool, tiny CLIP) into
   the embedded store; groups come from ``photoindex.library`` exactly as the
   API computes them.
4. Pairwise precision and recall against the generation (same shot = same
   group), for several thresholds, with the fingerprint verification the API
   uses and without it; exact duplicates against byte equality; the time to
   group 100k hashes, and what verification costs per candidate pair.

Prints a table and writes JSON (default ``bench/results/duplicates-<time>.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import csv
import hashlib
import io
import itertools
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

import anyio  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageEnhance, ImageOps  # noqa: E402

from photoindex.indexer.decoding.fingerprint import FINGERPRINT_BYTES  # noqa: E402
from photoindex.indexer.decoding.phash import perceptual_hash  # noqa: E402
from photoindex.indexer.decoding.pool import DecodePool  # noqa: E402
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files  # noqa: E402
from photoindex.indexer.models.worker import ModelWorker  # noqa: E402
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions  # noqa: E402
from photoindex.indexer.state import IndexState  # noqa: E402
from photoindex.indexer.store import EdgeStore  # noqa: E402
from photoindex.indexer.writer import IndexWriter  # noqa: E402
from photoindex.library.captions_index import CaptionIndex  # noqa: E402
from photoindex.library.duplicates import exact_groups, near_groups, stored_fingerprints  # noqa: E402
from photoindex.library.duplicates.near import DEFAULT_DISTANCE, MAX_SET_BITS, MIN_SET_BITS  # noqa: E402
from photoindex.library.duplicates.verify import same_shot  # noqa: E402
from photoindex.library.snapshot import Snapshot, take_snapshot  # noqa: E402
from photoindex.library.version import LibraryVersion, read_version  # noqa: E402
from sample_photos import photo_image  # noqa: E402
from tiny_models import TINY_CLIP_CONFIG, tiny_clip_embedder  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
SOURCE_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "TIFF", "MPO", "AVIF"}
MAX_SIDE = 1600
VARIANTS = ("photo", "copy", "resize50", "resize25", "q35", "png", "webp", "crop", "exif_rotated", "retone")
# The corpus' own copies of one shot (checked by eye): path → the shot they copy.
_ORIENTATION = "photos/exif-samples/orientation/"
CORPUS_COPIES: dict[str, str] = {
    **{f"{_ORIENTATION}landscape_{i}.jpg": f"{_ORIENTATION}landscape_1.jpg" for i in range(2, 9)},
    **{f"{_ORIENTATION}portrait_{i}.jpg": f"{_ORIENTATION}portrait_1.jpg" for i in range(2, 9)},
    **{f"photos/libvips/rotation/{i}.jpg": f"{_ORIENTATION}portrait_1.jpg" for i in range(1, 5)},
    "photos/libvips/sample-xyb.jpg": "photos/libvips/indexed.png",
    "photos/metadata-extractor-images/heic/cheers_1440x960.heic": "photos/exifr/heic-collection.heic",
    "photos/metadata-extractor-images/heic/exif-at-eof.heic": "photos/metadata-extractor-images/heic/IMG_2927.HEIC",
    "photos/metadata-extractor-images/png/sampleWithExifData.png": (
        "photos/metadata-extractor-images/png/dotnet-256x256-alpha-palette.png"
    ),
    "photos/metadata-extractor-images/webp/HTC Desire.webp": "photos/metadata-extractor-images/jpg/HTC Desire.jpg",
    "photos/metadata-extractor-images/webp/Nikon D1X.webp": "photos/metadata-extractor-images/jpg/Nikon D1X.jpg",
    "photos/pillow/exif.png": "photos/pillow/avif/exif.avif",
    "photos/sharp/Channel_digital_image_CMYK_color_no_profile.jpg": "photos/sharp/Channel_digital_image_CMYK_color.jpg",
}
THRESHOLDS = (6, 8, 10, 12)


def sources(corpus: Path, limit: int | None) -> tuple[list[tuple[str, Image.Image]], dict[str, int]]:
    """Informative corpus photos (shot key, image), upright and at most MAX_SIDE px."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    rows = list(csv.DictReader((corpus / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
    kept: list[tuple[str, Image.Image]] = []
    skipped = {"unreadable": 0, "flat": 0}
    for row in sorted(rows, key=lambda r: r["path"]):
        if row["kind"] != "photo" or row["format"] not in SOURCE_FORMATS:
            continue
        if min(int(row["width"] or 0), int(row["height"] or 0)) < 256:
            continue
        try:
            with Image.open(corpus / row["path"]) as opened:
                opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
                image = ImageOps.exif_transpose(opened).convert("RGB")
        except Exception:
            skipped["unreadable"] += 1
            continue
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        phash = perceptual_hash(image)
        if not MIN_SET_BITS <= bin(int(phash, 16)).count("1") <= MAX_SET_BITS:
            skipped["flat"] += 1
            continue
        kept.append((CORPUS_COPIES.get(row["path"], row["path"]), image))
        if limit is not None and len(kept) >= limit:
            break
    return kept, skipped


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def variants(image: Image.Image, rng: np.random.Generator) -> dict[str, bytes]:
    """The generated copies of one source, by variant name (file contents)."""
    w, h = image.size
    photo = encode(image, "JPEG", quality=92)
    crop_x, crop_y = rng.uniform(0.01, 0.05) * w, rng.uniform(0.01, 0.05) * h
    left, top = rng.uniform(0, 1) * crop_x, rng.uniform(0, 1) * crop_y
    cropped = image.crop((round(left), round(top), round(w - (crop_x - left)), round(h - (crop_y - top))))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the stored pixels are turned the other way
    retoned = ImageEnhance.Brightness(image).enhance(rng.uniform(0.9, 1.1))
    retoned = ImageEnhance.Color(ImageEnhance.Contrast(retoned).enhance(rng.uniform(0.9, 1.1))).enhance(
        rng.uniform(0.85, 1.15)
    )
    return {
        "photo": photo,
        "copy": photo,
        "resize50": encode(
            image.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), "JPEG", quality=90
        ),
        "resize25": encode(
            image.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.LANCZOS), "JPEG", quality=85
        ),
        "q35": encode(image, "JPEG", quality=35),
        "png": encode(image, "PNG"),
        "webp": encode(image, "WEBP", quality=80),
        "crop": encode(cropped, "JPEG", quality=90),
        "exif_rotated": encode(image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif.tobytes()),
        "retone": encode(retoned, "JPEG", quality=90),
    }


def write_set(
    root: Path, images: list[tuple[str, Image.Image]], distinct: int, seed: int
) -> dict[str, tuple[str, str]]:
    """Files of the set → (group key, variant): a corpus shot and its copies, or one distinct photo."""
    rng = np.random.default_rng(seed)
    truth: dict[str, tuple[str, str]] = {}
    for index, (shot, image) in enumerate(images):
        folder = root / f"s{index:04d}"
        folder.mkdir(parents=True)
        for name, data in variants(image, rng).items():
            ext = {"png": ".png", "webp": ".webp"}.get(name, ".jpg")
            path = folder / f"{name}{ext}"
            path.write_bytes(data)
            truth[str(path)] = (shot, name)
    folder = root / "distinct"
    folder.mkdir()
    for index in range(distinct):
        size = (int(rng.integers(480, 1200)), int(rng.integers(360, 900)))
        path = folder / f"d{index:04d}.jpg"
        photo_image(size, seed=10_000 + seed + index).save(path, "JPEG", quality=90)
        truth[str(path)] = (f"d{index}", "photo")
    return truth


async def index(root: Path, work: Path) -> EdgeStore:
    dim = int(TINY_CLIP_CONFIG["embed_dim"])
    store = EdgeStore.open(work / "store", "bench_duplicates", dim)
    decoder = DecodePool(os.cpu_count() or 2, timeout_s=120)
    models = ModelWorker(tiny_clip_embedder)
    try:
        options = PipelineOptions(
            host_id="bench",
            model_id="tiny-clip/random",
            model_size=int(TINY_CLIP_CONFIG["vision_cfg"]["image_size"]),
            captions="off",
            batch_size=32,
            thumbs_dir=None,
        )
        state = IndexState(options.host_id)
        pipeline = IndexPipeline(writer=IndexWriter(store, state), decoder=decoder, models=models, options=options)
        await pipeline.run(list(iter_files([canonical_root(str(root))], DiscoveryRules())))
    finally:
        decoder.close()
        models.close()
    return store


def pairs_of(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def scores(predicted: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict[str, float]:
    hit = len(predicted & true)
    return {
        "precision": round(hit / len(predicted), 4) if predicted else 1.0,
        "recall": round(hit / len(true), 4) if true else 1.0,
        "predicted_pairs": len(predicted),
        "true_pairs": len(true),
    }


def evaluate(store: EdgeStore, truth: dict[str, tuple[str, str]]) -> dict[str, Any]:
    snapshot = take_snapshot(store, read_version(store))
    path_of = {p.id: p.payload.path for p in store.scroll(fields=("path",))}
    canonical = {os.path.realpath(k): v for k, v in truth.items()}

    def files(rows: tuple[int, ...]) -> list[str]:
        return [path_of[snapshot.point_id(r)] for r in rows]

    by_group: dict[str, list[str]] = {}
    by_bytes: dict[str, list[str]] = {}
    for path, (group, _variant) in canonical.items():
        by_group.setdefault(group, []).append(path)
        by_bytes.setdefault(hashlib.sha256(Path(path).read_bytes()).hexdigest(), []).append(path)
    true_near = pairs_of(list(by_group.values()))
    true_exact = pairs_of([g for g in by_bytes.values() if len(g) > 1])
    started = time.perf_counter()
    exact = pairs_of([files(g.rows) for g in exact_groups(snapshot)])
    exact_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "photos": len(snapshot),
        "exact": {**scores(exact, true_exact), "seconds": round(exact_s, 4)},
    }
    started = time.perf_counter()
    stored_fingerprints(store, snapshot, range(len(snapshot)))
    result["fingerprint_read_us_per_photo"] = round((time.perf_counter() - started) / len(snapshot) * 1e6, 1)
    unverified = pairs_of(
        [files(g.rows) for g in near_groups(snapshot, max_distance=DEFAULT_DISTANCE, include_exact=True)]
    )
    result["near_unverified"] = scores(unverified, true_near)
    for k in THRESHOLDS:
        started = time.perf_counter()
        groups = near_groups(
            snapshot,
            max_distance=k,
            include_exact=True,
            fingerprints=lambda rows: stored_fingerprints(store, snapshot, rows),
        )
        seconds = time.perf_counter() - started
        predicted = pairs_of([files(g.rows) for g in groups])
        grouped_with_photo = {}
        for variant in VARIANTS[1:]:
            members = [(p, v) for p, v in canonical.items() if v[1] == variant]
            together = sum(
                1
                for p, (group, _v) in members
                if tuple(sorted((p, next(q for q, w in canonical.items() if w == (group, "photo"))))) in predicted
            )
            grouped_with_photo[variant] = round(together / len(members), 4) if members else None
        mixed = [sorted({canonical[f][0] for f in files(g.rows)}) for g in groups]
        result[f"near_k{k}"] = {
            **scores(predicted, true_near),
            "mixed_groups": [m for m in mixed if len(m) > 1],  # the shots a false group joined
            "seconds": round(seconds, 4),
            "recall_by_variant": grouped_with_photo,
        }
    failed = sum(1 for p in store.scroll(fields=("status",)) if p.payload.status == "failed")
    result["failed_files"] = failed
    return result


def scale(n: int = 100_000, seed: int = 0) -> dict[str, float]:
    """Group 100k hashes (a tenth of them near copies) from snapshot columns, as the API does."""
    rng = np.random.default_rng(seed)
    bits = rng.permuted(np.tile(np.array([1] * 32 + [0] * 32, dtype=np.uint64), (n, 1)), axis=1)
    hashes = (bits << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)  # 32 bits set, like photos
    for i in range(0, n // 10, 2):
        flips = rng.choice(64, size=int(rng.integers(0, 8)), replace=False)
        hashes[i + 1] = hashes[i] ^ np.uint64(sum(1 << int(b) for b in flips))
    sha = rng.integers(0, 255, size=(n, 32), dtype=np.uint8)
    sha[1 : n // 20 : 2] = sha[0 : n // 20 - 1 : 2]  # some exact copies too
    snapshot = Snapshot(
        version=LibraryVersion(n, n, 0),
        ids=np.frombuffer(b"".join(uuid.uuid4().bytes for _ in range(n)), dtype="V16"),
        status=np.zeros(n, np.uint8),
        size=np.full(n, 2_000_000, np.int64),
        width=np.full(n, 4000, np.int32),
        height=np.full(n, 3000, np.int32),
        mtime_ns=np.arange(n, dtype=np.int64),
        sha256=np.frombuffer(sha.tobytes(), dtype="V32"),
        phash=hashes,
        has_phash=np.ones(n, bool),
        captions=CaptionIndex.builder().build(),
        last_indexed_at=None,
        taken_s=0.0,
    )
    started = time.perf_counter()
    exact = exact_groups(snapshot)
    exact_s = time.perf_counter() - started
    started = time.perf_counter()
    near = near_groups(snapshot, max_distance=DEFAULT_DISTANCE)
    near_s = time.perf_counter() - started
    # Verification: the planted near copies (rows 2i and 2i+1) get one fingerprint with a little
    # noise, so they pass as they stand; any other candidate pair is unrelated and takes the crop
    # search, the worst case. Reading fingerprints from the store is measured apart.
    asked: list[int] = []
    bases = rng.integers(0, 200, (n // 20 + 1, FINGERPRINT_BYTES), dtype=np.uint8)

    def planted_prints(rows: Any) -> list[bytes | None]:
        asked.extend(rows)
        out: list[bytes | None] = []
        for row in rows:
            if row < n // 10:
                noisy = bases[row // 2] + rng.integers(0, 8, FINGERPRINT_BYTES, dtype=np.uint8)
                out.append(noisy.tobytes())
            else:
                out.append(rng.integers(0, 256, FINGERPRINT_BYTES, dtype=np.uint8).tobytes())
        return out

    started = time.perf_counter()
    verified = near_groups(snapshot, max_distance=DEFAULT_DISTANCE, fingerprints=planted_prints)
    verified_s = time.perf_counter() - started
    pair = [rng.integers(0, 256, FINGERPRINT_BYTES, dtype=np.uint8).tobytes() for _ in range(2)]
    started = time.perf_counter()
    for _ in range(200):
        same_shot(pair[0], pair[1])
    per_pair_ms = (time.perf_counter() - started) / 200 * 1e3
    return {
        "photos": n,
        "exact_s": round(exact_s, 3),
        "exact_groups": len(exact),
        "near_s": round(near_s, 3),
        "near_groups": len(near),
        "near_verified_s": round(verified_s, 3),
        "near_verified_groups": len(verified),
        "fingerprints_read": len(asked),
        "verify_ms_per_pair_worst": round(per_pair_ms, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="16 sources and 16 distinct photos")
    parser.add_argument("--scale", type=int, default=100_000, help="photos in the grouping-time measurement")
    parser.add_argument("--sources", type=int, default=None, help="at most this many corpus sources")
    parser.add_argument("--distinct", type=int, default=200, help="generated photos without duplicates")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tmp", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.corpus / "MANIFEST.tsv").is_file():
        print(f"no corpus at {args.corpus}; nothing to measure")
        return 2
    limit, distinct = (16, 16) if args.quick else (args.sources, args.distinct)
    work = Path(tempfile.mkdtemp(prefix="photoindex-dupes-", dir=args.tmp))
    try:
        started = time.perf_counter()
        images, skipped = sources(args.corpus, limit)
        truth = write_set(work / "set", images, distinct, seed=0)
        generated_s = time.perf_counter() - started
        started = time.perf_counter()
        store = anyio.run(index, work / "set", work)
        indexed_s = time.perf_counter() - started
        try:
            result = evaluate(store, truth)
        finally:
            store.close()
        result.update(
            sources=len(images),
            sources_skipped=skipped,
            distinct=distinct,
            files=len(truth),
            generate_s=round(generated_s, 1),
            index_s=round(indexed_s, 1),
            default_k=DEFAULT_DISTANCE,
        )
        result["scale_100k"] = scale(args.scale) if not args.quick else scale(10_000)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(result)
    out = args.out or REPO / "bench" / "results" / f"duplicates-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['sources']} corpus sources x {len(VARIANTS)} files + {result['distinct']} distinct photos = "
        f"{result['files']} files ({result['failed_files']} failed to index); skipped sources: "
        f"{result['sources_skipped']}"
    )
    exact = result["exact"]
    print(
        f"exact       precision {exact['precision']:.4f}  recall {exact['recall']:.4f}  ({exact['true_pairs']} pairs)"
    )
    for k in THRESHOLDS:
        near = result[f"near_k{k}"]
        mark = "  <- default" if k == result["default_k"] else ""
        print(
            f"near k={k:<3} precision {near['precision']:.4f}  recall {near['recall']:.4f}  "
            f"({near['predicted_pairs']} predicted / {near['true_pairs']} true pairs, {near['seconds']:.3f} s){mark}"
        )
    plain = result["near_unverified"]
    print(f"near k={result['default_k']}, hash only: precision {plain['precision']:.4f}  recall {plain['recall']:.4f}")
    default = result[f"near_k{result['default_k']}"]["recall_by_variant"]
    print("grouped with their photo at the default k: " + ", ".join(f"{k} {v:.3f}" for k, v in default.items()))
    scale_ = result["scale_100k"]
    print(
        f"{scale_['photos']:,} photos: exact grouping {scale_['exact_s']:.2f} s, "
        f"near grouping {scale_['near_s']:.2f} s, "
        f"verified {scale_['near_verified_s']:.2f} s ({scale_['fingerprints_read']:,} fingerprints, worst case "
        f"{scale_['verify_ms_per_pair_worst']:.2f} ms a pair); reading fingerprints from the store: "
        f"{result['fingerprint_read_us_per_photo']:.0f} µs a photo"
    )


if __name__ == "__main__":
    sys.exit(main())
