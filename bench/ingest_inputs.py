"""Seeded benchmark inputs: camera-sized JPEGs with EXIF, PNGs, DNGs with and without a preview.

The writers are ``sample_photos``' (the tests use them too); this module
only adds what makes the files cost what real ones cost to read. Their
pictures are smooth, so a 12 MP JPEG of one is ~0.3 MB where a camera writes
3-5 MB, and JPEG decoding time follows the compressed size (entropy decoding
is most of the work, in draft mode too). Here a seeded grain is laid over the
picture, which brings JPEGs to camera sizes (12 MP ≈ 3.8 MB, 24 MP ≈ 7.5 MB at
quality 90) and makes the DNG previews full-size camera JPEGs as well.

Files are generated in worker processes (nothing here imports torch).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import sample_photos

# name → (width, height) as stored (the sensor's reading for raws).
KINDS: dict[str, tuple[int, int]] = {
    "jpeg12": (4000, 3000),
    "jpeg24": (6000, 4000),
    "png": (2560, 1440),
    "dng_preview": (6000, 4000),
    "dng_raw": (6000, 4000),
}
QUICK_KINDS: dict[str, tuple[int, int]] = {
    "jpeg12": (1200, 900),
    "jpeg24": (1600, 1200),
    "png": (800, 600),
    "dng_preview": (1200, 800),
    "dng_raw": (1200, 800),
}
SUFFIX = {"jpeg12": ".jpg", "jpeg24": ".jpg", "png": ".png", "dng_preview": ".dng", "dng_raw": ".dng"}
GRAIN_SIGMA = 8.0  # 8-bit levels; calibrated so JPEG sizes match cameras' (see module doc)
_TILE = 509  # grain tile side: prime, so it never lines up with the 8×8 JPEG blocks
CAMERAS = (("Canon", "EOS R6"), ("NIKON CORPORATION", "NIKON Z 6_2"), ("SONY", "ILCE-7M3"), ("FUJIFILM", "X-T4"))


@dataclass(frozen=True)
class Job:
    kind: str
    path: str
    size: tuple[int, int]
    seed: int


def textured(size: tuple[int, int], seed: int) -> Image.Image:
    """``sample_photos``' photo-like picture with a seeded sensor-like grain (luma plus a little chroma)."""
    picture = np.asarray(sample_photos.photo_image(size, seed), dtype=np.int16)
    rng = np.random.default_rng(seed + 7919)
    luma = rng.normal(0.0, GRAIN_SIGMA, (_TILE, _TILE, 1))
    tile = (luma + rng.normal(0.0, GRAIN_SIGMA / 3, (_TILE, _TILE, 3))).round().astype(np.int16)
    height, width = picture.shape[:2]
    grain = np.tile(tile, (-(-height // _TILE), -(-width // _TILE), 1))[:height, :width]
    return Image.fromarray(np.clip(picture + grain, 0, 255).astype(np.uint8))


def write(job: Job) -> int:
    """Write one input file; returns its size in bytes."""
    make, model = CAMERAS[job.seed % len(CAMERAS)]
    taken = f"20{10 + job.seed % 15:02d}:{1 + job.seed % 12:02d}:{1 + job.seed % 28:02d} 1{job.seed % 10}:30:00"
    if job.kind in ("jpeg12", "jpeg24"):
        gps = (48.0 + (job.seed % 50) / 10, 2.0 + (job.seed % 30) / 10, 35.0) if job.seed % 2 else None
        sample_photos.make_jpeg(
            job.path,
            job.size,
            image=textured(job.size, job.seed),
            make=make,
            model=model,
            taken_at=taken,
            gps=gps,
            orientation=6 if job.seed % 5 == 0 else 1,
            quality=90,
            exif={0x829A: (1, 250), 0x829D: (28, 10), 0x8827: 400, 0x920A: (35, 1)},
        )
    elif job.kind == "png":
        textured(job.size, job.seed).save(job.path, "PNG")
    elif job.kind == "dng_preview":
        picture = textured(job.size, job.seed)
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=90)  # a full-size preview, as cameras embed them
        sample_photos.write_dng(
            job.path, picture, buffer.getvalue(), job.size, make=make, model=model, orientation=1, taken_at=taken
        )
    elif job.kind == "dng_raw":
        sample_photos.write_dng(
            job.path, textured(job.size, job.seed), None, None, make=make, model=model, orientation=1, taken_at=taken
        )
    else:
        raise ValueError(f"unknown input kind {job.kind!r}")
    return os.path.getsize(job.path)


def plan(root: Path, counts: dict[str, int], sizes: dict[str, tuple[int, int]], seed: int) -> list[Job]:
    """One job per file, laid out as ``root/<kind>/<kind>_NNNN<suffix>``; seeds differ per file."""
    jobs = []
    for index, (kind, count) in enumerate(counts.items()):
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(count):
            path = folder / f"{kind}_{n:04d}{SUFFIX[kind]}"
            jobs.append(Job(kind, str(path), sizes[kind], seed * 100_003 + index * 10_007 + n))
    return jobs


def generate(jobs: list[Job], workers: int) -> dict[str, int]:
    """Write every job's file (largest first, in ``workers`` processes); returns bytes per kind."""
    ordered = sorted(jobs, key=lambda j: -j.size[0] * j.size[1] * (3 if j.kind.startswith("dng") else 1))
    totals: dict[str, int] = {}
    run: Callable[[Job], int] = write
    if workers <= 1:
        sizes = [run(job) for job in ordered]
    else:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            sizes = list(pool.map(run, ordered, chunksize=1))
    for job, size in zip(ordered, sizes, strict=True):
        totals[job.kind] = totals.get(job.kind, 0) + size
    return totals


def duplicates(root: Path, count: int, distinct: int, seed: int) -> None:
    """``count`` small files of ``distinct`` contents (hard links where the file system allows)."""
    root.mkdir(parents=True, exist_ok=True)
    sources = []
    for n in range(distinct):
        path = root / f"src_{n:03d}.jpg"
        sample_photos.make_jpeg(path, (320, 240), seed=seed * 7 + n)
        sources.append(path)
    for n in range(count - distinct):
        source = sources[n % distinct]
        folder = root / f"d{n // 1000:02d}"
        folder.mkdir(exist_ok=True)
        target = folder / f"copy_{n:05d}.jpg"
        try:
            os.link(source, target)
        except OSError:
            target.write_bytes(source.read_bytes())
