"""A synthetic photo library of N photos for bench/scale.py: real files on disk, their points in the store.

Vectors come from a mixture of Gaussians on the sphere (real CLIP vectors are
clustered: a library is trips, people, pets and documents; uniform random
vectors are the worst case for a graph index and unlike any photo library).
Payloads are what the pipeline writes for a decoded photo: nested folders,
cameras, dates over twenty years, about 30 % with GPS and a place, captions,
hashes and fingerprints, with a few per cent exact and near copies so the
duplicate detectors have something to find. Every point describes a real
(tiny) file with its real size, mtime and inode, so the daemon's reconcile
finds the library unchanged.

Everything is seeded: the vectors of photo ``i`` can be generated again
(``vectors_of``) for exact-search recall without holding N vectors.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from photoindex.indexer.payloads import file_payload
from photoindex.indexer.records import FileFacts
from photoindex.indexer.store import PhotoPoint, VectorStore, payload_from_dict, point_id

CHUNK = 2_000
CLUSTERS = 3_000
LIBRARY_SEED = 7  # the vectors of every photo follow from it (bench/search_params.py rebuilds its queries)
SPREAD = 1.0  # noise norm relative to the centre's: a member's cosine to its centre is ~0.71
EXACT_COPY_SHARE = 0.02  # of photos: byte-identical copies of an earlier photo
NEAR_COPY_SHARE = 0.02  # of photos: re-encoded copies (phash a few bits off, same shot)
GPS_SHARE = 0.30
CAMERAS = (
    ("Canon", "Canon EOS R5"),
    ("Canon", "Canon EOS 5D Mark IV"),
    ("NIKON CORPORATION", "NIKON Z 6_2"),
    ("SONY", "ILCE-7M3"),
    ("Apple", "iPhone 13 Pro"),
    ("Apple", "iPhone 15"),
    ("FUJIFILM", "X-T4"),
    ("OLYMPUS CORPORATION", "E-M1MarkII"),
    ("Google", "Pixel 7"),
    ("Panasonic", "DC-G9"),
)
FORMATS = (("JPEG", ".jpg"), ("JPEG", ".jpg"), ("JPEG", ".jpg"), ("HEIF", ".heic"), ("DNG", ".dng"), ("PNG", ".png"))
CITIES = (
    ("Lisbon", "Lisbon", "Portugal", "PT", 38.72, -9.14),
    ("Paris", "Île-de-France", "France", "FR", 48.86, 2.35),
    ("Kyoto", "Kyoto", "Japan", "JP", 35.01, 135.77),
    ("Denver", "Colorado", "United States", "US", 39.74, -104.99),
    ("Cape Town", "Western Cape", "South Africa", "ZA", -33.92, 18.42),
    ("Reykjavik", "Capital Region", "Iceland", "IS", 64.15, -21.94),
)
WORDS = (
    "a dog on the beach",
    "two people at a table",
    "a mountain lake at sunset",
    "a city street at night",
    "a cat sleeping on a sofa",
    "a plate of food",
    "children playing in a park",
    "a snowy forest",
    "a document on a desk",
    "a birthday cake with candles",
    "boats in a harbour",
    "a bride and groom",
)
START_TS = datetime(2004, 1, 1, tzinfo=UTC).timestamp()
SPAN_S = 20 * 365.25 * 86400


@dataclass(frozen=True)
class BuiltLibrary:
    """What was made, and how long each part took."""

    root: str
    photos: int
    files_s: float  # creating and stat-ing the files
    points_s: float  # building payloads and vectors and upserting them
    upsert_s: float  # of which in the store adapter's upsert
    folders: int

    @property
    def upsert_per_s(self) -> float:
        return self.photos / self.upsert_s if self.upsert_s else 0.0


class ClusteredVectors:
    """Unit vectors from a seeded mixture of Gaussians on the sphere; photo ``i``'s vector is reproducible."""

    def __init__(self, dim: int, seed: int, clusters: int = CLUSTERS) -> None:
        rng = np.random.default_rng(seed)
        centres = rng.standard_normal((clusters, dim)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        sizes = 1.0 / np.arange(1, clusters + 1) ** 0.8  # a few big clusters (family, holidays), a long tail
        self.weights = sizes / sizes.sum()
        self.dim = dim
        self.seed = seed

    def chunk(self, start: int, n: int) -> np.ndarray:
        """The vectors of photos ``start .. start + n`` (before copies are applied)."""
        rng = np.random.default_rng((self.seed, start))
        members = rng.choice(len(self.centres), size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim)).astype(np.float32)
        noise *= SPREAD / np.sqrt(self.dim)
        vectors = self.centres[members] + noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors


class LibraryMaker:
    """Writes the files of a library under ``root`` and its points through the store adapter."""

    def __init__(
        self, root: Path, *, size: int, host_id: str, model_id: str, dim: int, seed: int = LIBRARY_SEED
    ) -> None:
        self.root = os.path.realpath(root)
        self.size = size  # the library's size, which spreads its photos over twenty years of folders
        self.host_id = host_id
        self.model_id = model_id
        self.vectors = ClusteredVectors(dim, seed)
        self.seed = seed

    def path_of(self, i: int) -> str:
        """Nested like a real library: year / month / event / file."""
        year = 2004 + (i * 20) // max(1, self.size)
        month = 1 + (i // 97) % 12
        event = (i // 350) % 40
        _format, ext = FORMATS[i % len(FORMATS)]
        return os.path.join(self.root, str(year), f"{month:02d}", f"event-{event:02d}", f"IMG_{i:07d}{ext}")

    def build(self, store: VectorStore, n: int, *, progress: Callable[[int], None] | None = None) -> BuiltLibrary:
        """Files and points for photos 0 .. n-1."""
        files_s = points_s = upsert_s = 0.0
        folders: set[str] = set()
        for start in range(0, n, CHUNK):
            count = min(CHUNK, n - start)
            began = time.perf_counter()
            facts = [self._write_file(start + k, folders) for k in range(count)]
            files_s += time.perf_counter() - began
            began = time.perf_counter()
            points = self.points(start, facts)
            upsert_began = time.perf_counter()
            store.upsert(points)
            upsert_s += time.perf_counter() - upsert_began
            points_s += time.perf_counter() - began
            if progress is not None:
                progress(start + count)
        store.flush()
        return BuiltLibrary(self.root, n, files_s, points_s, upsert_s, len(folders))

    def points(self, start: int, facts: list[FileFacts], *, ids: list[str] | None = None) -> list[PhotoPoint]:
        """The points of photos ``start ..`` for ``facts``; ``ids`` overrides their ids (re-index under new ids)."""
        n = len(facts)
        rng = np.random.default_rng((self.seed, start, 1))
        vectors = self.vectors.chunk(start, n)
        phashes = _phashes(rng, n)
        shas = rng.bytes(32 * n)
        prints = rng.bytes(1024 * n)
        points = []
        for k, f in enumerate(facts):
            i = start + k
            sha, phash, fingerprint, vector = (
                shas[32 * k : 32 * k + 32].hex(),
                phashes[k],
                prints[1024 * k :][:1024],
                vectors[k],
            )
            copy_of = original_of(i)
            if copy_of is not None:  # a copy of an earlier photo in this chunk: its content, its vector
                j = copy_of - start
                vector = vectors[j]
                fingerprint = prints[1024 * j :][:1024]
                if exact_copy(i):  # byte-identical
                    sha, phash = shas[32 * j : 32 * j + 32].hex(), phashes[j]
                else:  # re-encoded: another file, a few hash bits off
                    phash = phashes[j] ^ (1 << int(rng.integers(64))) ^ (1 << int(rng.integers(64)))
            payload = self._payload(i, f, rng, sha=sha, phash=phash, fingerprint=fingerprint)
            pid = ids[k] if ids is not None else point_id(self.host_id, f.path)
            points.append(PhotoPoint(id=pid, payload=payload_from_dict(payload), vector=vector))
        return points

    def facts_of(self, start: int, n: int) -> list[FileFacts]:
        """The files of photos ``start .. start + n`` as they are on disk now."""
        out = []
        for i in range(start, start + n):
            path = self.path_of(i)
            st = os.stat(path)
            out.append(FileFacts(path=path, root=self.root, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino))
        return out

    def _write_file(self, i: int, folders: set[str]) -> FileFacts:
        path = self.path_of(i)
        folder = os.path.dirname(path)
        if folder not in folders:
            os.makedirs(folder, exist_ok=True)
            folders.add(folder)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, i.to_bytes(8, "little"))
            st = os.fstat(fd)
        finally:
            os.close(fd)
        return FileFacts(path=path, root=self.root, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)

    def _payload(
        self, i: int, facts: FileFacts, rng: np.random.Generator, *, sha: str, phash: int, fingerprint: bytes
    ) -> dict[str, object]:
        make, model = CAMERAS[i % len(CAMERAS)]
        fmt, _ext = FORMATS[i % len(FORMATS)]
        taken = START_TS + SPAN_S * ((i * 0.61803398875) % 1.0)
        payload = file_payload(facts, host_id=self.host_id)
        payload.update(
            sha256=sha,
            phash=f"{phash:016x}",
            fingerprint=base64.b64encode(fingerprint).decode(),
            status="indexed",
            model_id=self.model_id,
            indexed_at="2026-12-01T12:00:00+00:00",
            caption_status="done",
            caption=WORDS[int(rng.integers(len(WORDS)))],
            format=fmt,
            width=6000 if i % 3 else 4032,
            height=4000 if i % 3 else 3024,
            orientation=1,
            camera_make=make,
            camera_model=model,
            iso=int(100 * 2 ** (i % 6)),
            taken_at=datetime.fromtimestamp(taken, UTC).isoformat(timespec="seconds"),
            taken_at_source="exif",
            taken_at_ts=taken,
        )
        if (i * 7919) % 100 < GPS_SHARE * 100:
            city, region, country, code, lat, lon = CITIES[i % len(CITIES)]
            lat, lon = lat + float(rng.normal(0, 0.05)), lon + float(rng.normal(0, 0.05))
            payload.update(
                gps_lat=lat,
                gps_lon=lon,
                location={"lat": lat, "lon": lon},
                place_city=city,
                place_region=region,
                place_country=country,
                place_country_code=code,
            )
        return payload


def original_of(i: int) -> int | None:
    """The earlier photo (in the same chunk) photo ``i`` is a copy of, if it is one (``exact_copy`` says how)."""
    offset = i % CHUNK
    share = EXACT_COPY_SHARE + NEAR_COPY_SHARE
    if offset < 10 or (i * 2654435761) % 10_000 >= share * 10_000:
        return None
    return i - 1 - (i * 40503) % min(offset, 50)


def exact_copy(i: int) -> bool:
    """Whether copy ``i`` holds its original's bytes (else it is a re-encoded, near copy)."""
    return (i * 7) % 11 < 5


def _phashes(rng: np.random.Generator, n: int) -> list[int]:
    """64-bit perceptual hashes with 32 bits set, as a real photo's DCT median split gives."""
    order = np.argsort(rng.random((n, 64)), axis=1)[:, :32]
    bits = np.zeros((n, 64), dtype=np.uint64)
    np.put_along_axis(bits, order, 1, axis=1)
    values = (bits << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    return [int(v) for v in values]


def search_queries(vectors: ClusteredVectors, n: int, count: int, seed: int = 11) -> np.ndarray:
    """``count`` queries near photos of the library: a photo's vector with noise, as a search for it would be."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=count)
    queries = np.stack([vectors.chunk(int(i), 1)[0] for i in picks])
    queries += rng.standard_normal(queries.shape).astype(np.float32) * (0.5 / np.sqrt(vectors.dim))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return queries


def recall_at_k(found_scores: list[list[float]], kth: np.ndarray, k: int) -> float:
    """Mean share of each query's hits scoring at least its exact ``k``-th best score (fair to ties)."""
    shares = [sum(score >= kth[q] - 1e-4 for score in scores) / k for q, scores in enumerate(found_scores)]
    return float(np.mean(shares))


def exact_kth_scores(vectors: ClusteredVectors, n: int, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact ``k``-th best score of each query over photos 0 .. n-1, streaming their vectors in chunks.

    Recall is counted against it: a hit scoring at least the k-th exact score
    is a true neighbour, which is fair to ties (a copy shares its original's
    vector, so exact top-k sets are not unique).
    """
    best = np.full((len(queries), k), -2.0, dtype=np.float32)
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        chunk = vectors.chunk(start, count)
        for j in range(count):
            original = original_of(start + j)
            if original is not None:
                chunk[j] = chunk[original - start]
        merged = np.concatenate([best, queries @ chunk.T], axis=1)
        best = -np.sort(-merged, axis=1)[:, :k]
    return best[:, k - 1]


__all__ = [
    "CHUNK",
    "LIBRARY_SEED",
    "BuiltLibrary",
    "ClusteredVectors",
    "LibraryMaker",
    "exact_kth_scores",
    "original_of",
    "recall_at_k",
    "search_queries",
]
