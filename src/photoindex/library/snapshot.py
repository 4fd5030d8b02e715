"""A compact, columnar copy of what the index holds about every photo, for whole-library work.

Duplicates, collection statistics and caption matching need a few fields of
every point. Reading them from the store per request would cost a full scroll
each time, so one scroll fills numpy columns (about 90 bytes a photo, no
Python object per photo) that those computations share until the library
changes. Paths and other display fields are not kept: a page of results
fetches its few points from the store.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from photoindex.indexer.store import PhotoPayload, PhotoPoint, VectorStore
from photoindex.library.captions_index import CaptionIndex
from photoindex.library.version import LibraryVersion

SNAPSHOT_FIELDS = (
    "status",
    "size",
    "width",
    "height",
    "orientation",
    "sha256",
    "phash",
    "mtime_ns",
    "indexed_at",
    "caption",
    "host_id",
    "path",
    "taken_at_ts",
    "location",
    "place_city",
    "place_region",
    "place_country",
    "place_country_code",
)
_NO_PLACE = -1
STATUS_CODES = {"indexed": 0, "pending": 1, "failed": 2}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
_OTHER_STATUS = 3
_NO_SHA = b"\0" * 32
_NAN = float("nan")
# Exif orientations 5-8 turn the stored image a quarter: width and height swap on display.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Columns over every photo point, row-aligned; built by ``take_snapshot``."""

    version: LibraryVersion
    ids: np.ndarray  # "V16": the point id's UUID bytes
    status: np.ndarray  # uint8: STATUS_CODES
    size: np.ndarray  # int64 bytes on disk
    width: np.ndarray  # int32, as displayed (orientation applied); 0 = unknown
    height: np.ndarray  # int32
    mtime_ns: np.ndarray  # int64
    sha256: np.ndarray  # "V32"; all zero when unknown
    phash: np.ndarray  # uint64
    has_phash: np.ndarray  # bool
    captions: CaptionIndex
    last_indexed_at: str | None
    taken_s: float
    created: float = field(default_factory=time.monotonic)
    host: np.ndarray | None = None  # uint16: index into ``host_names``; None: one host
    host_names: tuple[str, ...] = ()
    # For the timeline (``library.timeline``): when each photo was taken (NaN: unknown), and the
    # folder holding it as a code into ``dir_names`` (distinct folders are few; paths are not kept).
    taken_ts: np.ndarray | None = None  # float64 seconds since the epoch
    dir_code: np.ndarray | None = None  # uint32
    dir_names: tuple[str, ...] = ()
    place: np.ndarray | None = None  # int32: index into ``place_names``; -1: none (no GPS, or not geocoded yet)
    place_names: tuple[tuple[str, str, str, str], ...] = ()  # (city, region, country, country code)
    lat: np.ndarray | None = None  # float32 latitude; NaN without GPS

    def of_host(self, host_id: str) -> Snapshot:
        """The rows of one host's photos (duplicates are per host), without captions; ``self`` when all are."""
        if self.host is None or self.host_names == (host_id,):
            return self
        code = self.host_names.index(host_id) if host_id in self.host_names else -1
        rows = np.flatnonzero(self.host == code)
        return replace(
            self,
            ids=self.ids[rows],
            status=self.status[rows],
            size=self.size[rows],
            width=self.width[rows],
            height=self.height[rows],
            mtime_ns=self.mtime_ns[rows],
            sha256=self.sha256[rows],
            phash=self.phash[rows],
            has_phash=self.has_phash[rows],
            captions=CaptionIndex.builder().build(),
            host=np.zeros(len(rows), dtype=np.uint16),
            host_names=(host_id,),
            taken_ts=None if self.taken_ts is None else self.taken_ts[rows],
            dir_code=None if self.dir_code is None else self.dir_code[rows],
            place=self.place[rows] if self.place is not None else None,
            lat=self.lat[rows] if self.lat is not None else None,
        )

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def point_id(self, row: int) -> str:
        return str(uuid.UUID(bytes=self.ids[row].tobytes()))

    def point_ids(self, rows: Iterable[int]) -> list[str]:
        return [self.point_id(int(r)) for r in rows]

    def row_of(self) -> dict[bytes, int]:
        """Point-id bytes → row (built on demand; a dict over every photo)."""
        return {b.tobytes(): i for i, b in enumerate(self.ids)}

    def counts(self) -> dict[str, int]:
        """Photos per status."""
        values, counts = np.unique(self.status, return_counts=True)
        return {STATUS_NAMES.get(int(v), "other"): int(c) for v, c in zip(values, counts, strict=True)}

    def total_bytes(self) -> int:
        return int(self.size.sum())


class Columns:
    """Rows of a snapshot being built, point by point; codes continue from ``host_names``, ``dir_names``, ...."""

    def __init__(
        self,
        *,
        host_names: tuple[str, ...] = (),
        dir_names: tuple[str, ...] = (),
        place_names: tuple[tuple[str, str, str, str], ...] = (),
        first_row: int = 0,
    ) -> None:
        self.ids: list[bytes] = []
        self.status: list[int] = []
        self.size: list[int] = []
        self.width: list[int] = []
        self.height: list[int] = []
        self.mtime: list[int] = []
        self.sha: list[bytes] = []
        self.phash: list[int] = []
        self.has_phash: list[bool] = []
        self.captions = CaptionIndex.builder()
        self.hosts: list[int] = []
        self.host_codes = {name: code for code, name in enumerate(host_names)}
        self.taken: list[float] = []
        self.dirs: list[int] = []
        self.dir_codes = {name: code for code, name in enumerate(dir_names)}
        self.places: list[int] = []
        self.place_codes = {name: code for code, name in enumerate(place_names)}
        self.lats: list[float] = []
        self.last_indexed: str | None = None
        self._row = first_row

    def add(self, point: PhotoPoint) -> None:
        p = point.payload
        self.ids.append(uuid.UUID(point.id).bytes)
        self.status.append(STATUS_CODES.get(p.status or "indexed", _OTHER_STATUS))
        self.size.append(p.size or 0)
        w, h = p.width or 0, p.height or 0
        if p.orientation in _QUARTER_TURNS:
            w, h = h, w
        self.width.append(w)
        self.height.append(h)
        self.mtime.append(p.mtime_ns or 0)
        self.sha.append(_sha_bytes(p.sha256))
        value = _phash_int(p.phash)
        self.phash.append(value if value is not None else 0)
        self.has_phash.append(value is not None)
        host_id = p.host_id or ""
        self.hosts.append(self.host_codes.setdefault(host_id, len(self.host_codes)))
        self.taken.append(p.taken_at_ts if p.taken_at_ts is not None else _NAN)
        folder = p.path.rpartition("/")[0] if p.path is not None else ""
        self.dirs.append(self.dir_codes.setdefault(folder, len(self.dir_codes)))
        self.places.append(_place_code(p, self.place_codes))
        self.lats.append(p.location.lat if p.location is not None else np.nan)
        if p.caption:
            self.captions.add(self._row, p.caption)
        indexed_at = p.indexed_at
        if indexed_at is not None and (self.last_indexed is None or indexed_at > self.last_indexed):
            self.last_indexed = indexed_at
        self._row += 1

    def build(self, version: LibraryVersion, captions: CaptionIndex, taken_s: float) -> Snapshot:
        return Snapshot(
            version=version,
            ids=np.frombuffer(b"".join(self.ids), dtype="V16"),
            status=np.array(self.status, dtype=np.uint8),
            size=np.array(self.size, dtype=np.int64),
            width=np.array(self.width, dtype=np.int32),
            height=np.array(self.height, dtype=np.int32),
            mtime_ns=np.array(self.mtime, dtype=np.int64),
            sha256=np.frombuffer(b"".join(self.sha), dtype="V32"),
            phash=np.array(self.phash, dtype=np.uint64),
            has_phash=np.array(self.has_phash, dtype=bool),
            captions=captions,
            last_indexed_at=self.last_indexed,
            taken_s=taken_s,
            host=np.array(self.hosts, dtype=np.uint16),
            host_names=tuple(self.host_codes),
            taken_ts=np.array(self.taken, dtype=np.float64),
            dir_code=np.array(self.dirs, dtype=np.uint32),
            dir_names=tuple(self.dir_codes),
            place=np.array(self.places, dtype=np.int32),
            place_names=tuple(self.place_codes),
            lat=np.array(self.lats, dtype=np.float32),
        )


def take_snapshot(store: VectorStore, version: LibraryVersion, *, page_size: int = 2048) -> Snapshot:
    """Scroll every photo point's light fields into columns (blocking: run it in a thread)."""
    started = time.perf_counter()
    columns = Columns()
    for point in store.scroll(fields=SNAPSHOT_FIELDS, page_size=page_size):
        columns.add(point)
    return columns.build(version, columns.captions.build(), time.perf_counter() - started)


def _place_code(payload: PhotoPayload, codes: dict[tuple[str, str, str, str], int]) -> int:
    code = payload.place_country_code
    if not code:
        return _NO_PLACE
    place = (payload.place_city or "", payload.place_region or "", payload.place_country or "", code)
    return codes.setdefault(place, len(codes))


def _sha_bytes(value: str | None) -> bytes:
    if value is not None and len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            return _NO_SHA
    return _NO_SHA


def _phash_int(value: str | None) -> int | None:
    if value is not None and len(value) == 16:
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


__all__ = ["SNAPSHOT_FIELDS", "STATUS_CODES", "Columns", "Snapshot", "take_snapshot"]
