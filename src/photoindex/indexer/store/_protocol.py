"""The ``VectorStore`` Protocol and the records it speaks.

Everything the indexer keeps lives in one collection per embedding model:
photos with a vector (``status="indexed"``), photos waiting for a model
(``status="pending"``, no vector) and files that failed (``status="failed"``,
no vector, with ``error_code``), plus one metadata point. Vector search only
ever sees points that carry the ``image`` vector.

Adapters fill in two derived payload fields when a point is written without
them: ``kind="photo"`` (what separates photos from the metadata point) and
``dirs`` (every ancestor folder of ``path``, what ``path_prefix`` filters on).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

import msgspec
import numpy as np

from photoindex.indexer.store.payload import PhotoPayload

VECTOR_NAME = "image"

# Payload fields that filters use; each adapter creates an index for them.
KEYWORD_FIELDS = (
    "kind",
    "host_id",
    "path",
    "root",
    "dirs",
    "sha256",
    "phash",
    "status",
    "format",
    "camera_make",
    "camera_model",
    "lens",
    "caption_status",
    # Reverse-geocoded from ``location`` (indexer/decoding/places.py): what "in Lisbon" and /places filter and count on.
    "place_city",
    "place_region",
    "place_country",
    "place_country_code",
)
INTEGER_FIELDS = ("width", "height", "size")
FLOAT_FIELDS = ("taken_at_ts",)
GEO_FIELDS = ("location",)


class PhotoPoint(msgspec.Struct, frozen=True):
    """One stored point: an opaque id, its payload, and its vector if it has one."""

    id: str
    payload: PhotoPayload
    vector: np.ndarray | None = None


class SearchHit(msgspec.Struct, frozen=True):
    """A point returned by a vector search, with its cosine similarity."""

    id: str
    score: float
    payload: PhotoPayload


class GeoBox(msgspec.Struct, frozen=True):
    """A latitude/longitude rectangle."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


class PhotoFilter(msgspec.Struct, frozen=True, omit_defaults=True):
    """Conditions on the payload; every set field must hold (AND).

    A tuple field holds when the payload value is any of its items; an empty
    tuple matches nothing. The taken range is half-open: ``from <= ts < to``.
    ``has_gps`` and ``geo_box`` look at ``location`` (``{"lat": .., "lon": ..}``);
    a box whose ``min_lon`` exceeds its ``max_lon`` crosses the antimeridian.
    """

    host_ids: tuple[str, ...] | None = None  # the hosts that indexed them (one server collection, many hosts)
    roots: tuple[str, ...] | None = None
    path_prefix: str | None = None  # a folder: matches photos anywhere below it
    statuses: tuple[str, ...] | None = None
    taken_from_ts: float | None = None
    taken_to_ts: float | None = None
    camera_makes: tuple[str, ...] | None = None
    camera_models: tuple[str, ...] | None = None
    lenses: tuple[str, ...] | None = None
    formats: tuple[str, ...] | None = None
    has_gps: bool | None = None
    geo_box: GeoBox | None = None
    min_width: int | None = None
    min_height: int | None = None
    sha256: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    caption_status: str | None = None
    place_cities: tuple[str, ...] | None = None
    place_regions: tuple[str, ...] | None = None
    place_country_codes: tuple[str, ...] | None = None
    has_place: bool | None = None  # a ``place_country_code`` is set (False: not geocoded yet, or no GPS)


@runtime_checkable
class VectorStore(Protocol):
    """A collection of photo points; adapters: embedded (qdrant-edge) and server (qdrant-client)."""

    @property
    def collection(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def upsert(self, points: Sequence[PhotoPoint]) -> None:
        """Insert or replace points by id, in one batch; idempotent."""

    def set_payload(self, point_id: str, payload: Mapping[str, object]) -> None:
        """Merge ``payload`` (a few ``PhotoPayload`` field names and values) into one point's payload, keeping
        its vector; the fields it does not name are left as they are.

        Raises ``StoreError`` with code ``NOT_FOUND`` when the point does not exist.
        """

    def delete(self, ids: Sequence[str]) -> None:
        """Remove points; unknown ids are ignored."""

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[PhotoPoint]:
        """The points that exist among ``ids`` (order not guaranteed)."""

    def search(
        self,
        vector: np.ndarray,
        *,
        limit: int,
        offset: int = 0,
        flt: PhotoFilter | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        """Nearest photos by cosine similarity, best first (equal scores in no particular order).

        ``fields`` limits each hit's payload to those keys (``None``: the whole payload;
        empty: none), which is what makes reading a long run of hits cheap.
        """

    def scroll(
        self,
        *,
        flt: PhotoFilter | None = None,
        with_vectors: bool = False,
        page_size: int = 1024,
        fields: Sequence[str] | None = None,
    ) -> Iterator[PhotoPoint]:
        """Every photo point matching ``flt`` (never the metadata point).

        ``fields`` limits each payload to those keys (``None``: the whole payload);
        reading a few fields of every point is what start-up does, so it is cheap.
        """

    def count(self, flt: PhotoFilter | None = None) -> int:
        """How many photo points match ``flt`` (exact)."""

    def get_meta(self) -> dict[str, object]:
        """The collection's metadata (model id, weights, ...); empty when new."""

    def set_meta(self, meta: Mapping[str, object]) -> None:
        """Replace the collection's metadata."""

    def flush(self) -> None:
        """Make acknowledged writes durable now (they already survive a killed process)."""

    def close(self) -> None:
        """Release files, locks and connections; the store is unusable afterwards."""
