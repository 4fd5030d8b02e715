"""``ServerStore``: a collection on a Qdrant server or cluster, through qdrant-client.

Sharding, replication, on-disk vectors and scalar quantization are Qdrant's;
they are passed through when the collection is created and left alone after.
Writes wait for the server's acknowledgement (``wait=True``), which means
they are in its write-ahead log, so ``flush()`` has nothing left to do.

Points without a vector are stored with an empty vector map, as in the edge
store; vector search never returns them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import structlog
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import UnexpectedResponse

from photoindex.errors import ConfigError, ErrorCode, StoreError
from photoindex.indexer.store import _filters as f
from photoindex.indexer.store._protocol import (
    FLOAT_FIELDS,
    GEO_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    VECTOR_NAME,
    PhotoFilter,
    PhotoPoint,
    SearchHit,
)
from photoindex.indexer.store.payload import payload_from_dict
from photoindex.indexer.store.points import META_KIND, META_POINT_ID, merged_payload, with_derived_fields

log = structlog.get_logger(__name__)

QUANTIZATIONS = ("scalar",)

_SCHEMAS = {
    **dict.fromkeys(KEYWORD_FIELDS, qm.PayloadSchemaType.KEYWORD),
    **dict.fromkeys(INTEGER_FIELDS, qm.PayloadSchemaType.INTEGER),
    **dict.fromkeys(FLOAT_FIELDS, qm.PayloadSchemaType.FLOAT),
    **dict.fromkeys(GEO_FIELDS, qm.PayloadSchemaType.GEO),
}


class ServerStore:
    """A ``VectorStore`` on a Qdrant collection; owns (and closes) the client it is given."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dim: int,
        *,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        on_disk: bool = False,
        quantization: str | None = None,
        where: str = "qdrant",
    ) -> None:
        """Use ``collection`` on ``client``, creating it when missing; ``where`` names the server in errors."""
        if quantization is not None and quantization not in QUANTIZATIONS:
            raise ConfigError([f"store.quantization: expected one of {QUANTIZATIONS} or none, got {quantization!r}"])
        self._client: QdrantClient | None = client
        self._collection = collection
        self._dim = dim
        self._where = where
        started = time.perf_counter()
        try:
            created = self._ensure_collection(shard_number, replication_factor, on_disk, quantization)
        except BaseException:
            self.close()
            raise
        log.info(
            "store.opened",
            backend="server",
            where=where,
            collection=collection,
            created=created,
            ms=round((time.perf_counter() - started) * 1000),
        )

    @classmethod
    def connect(
        cls,
        url: str,
        api_key: str | None,
        collection: str,
        dim: int,
        *,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        on_disk: bool = False,
        quantization: str | None = None,
    ) -> ServerStore:
        """Connect to the server at ``url`` and open (or create) ``collection``."""
        # The first real call reports an unreachable server as a StoreError; the
        # constructor's version check would only warn about it first.
        client = QdrantClient(url=url, api_key=api_key, check_compatibility=False)
        return cls(
            client,
            collection,
            dim,
            shard_number=shard_number,
            replication_factor=replication_factor,
            on_disk=on_disk,
            quantization=quantization,
            where=url,
        )

    @property
    def collection(self) -> str:
        return self._collection

    @property
    def dim(self) -> int:
        return self._dim

    # -- writes ---------------------------------------------------------------

    def upsert(self, points: Sequence[PhotoPoint]) -> None:
        if not points:
            return
        structs = [
            qm.PointStruct(id=p.id, vector=self._vectors(p.vector), payload=with_derived_fields(p.payload))
            for p in points
        ]
        with self._call("upsert") as client:
            client.upsert(self._collection, points=structs, wait=True)

    def set_payload(self, point_id: str, payload: Mapping[str, object]) -> None:
        with self._call("set_payload") as client:
            try:
                client.set_payload(self._collection, merged_payload(payload), points=[point_id], wait=True)
            except Exception:
                if not client.retrieve(self._collection, [point_id], with_payload=False):
                    raise StoreError(f"no point {point_id} in {self._collection}", code=ErrorCode.NOT_FOUND) from None
                raise

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._call("delete") as client:
            client.delete(self._collection, points_selector=qm.PointIdsList(points=list(ids)), wait=True)

    def set_meta(self, meta: Mapping[str, object]) -> None:
        point = qm.PointStruct(id=META_POINT_ID, vector={}, payload={"kind": META_KIND, "meta": dict(meta)})
        with self._call("set_meta") as client:
            client.upsert(self._collection, points=[point], wait=True)

    def flush(self) -> None:
        """Nothing to do: every write already waited for the server's acknowledgement."""
        self._call_check()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- reads ----------------------------------------------------------------

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[PhotoPoint]:
        if not ids:
            return []
        with self._call("retrieve") as client:
            records = client.retrieve(
                self._collection, list(ids), with_payload=True, with_vectors=[VECTOR_NAME] if with_vectors else False
            )
        return [_point(r, with_vectors) for r in records if (r.payload or {}).get("kind") != META_KIND]

    def search(
        self,
        vector: np.ndarray,
        *,
        limit: int,
        offset: int = 0,
        flt: PhotoFilter | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        conditions = f.for_vector_search(f.plan(flt))
        if conditions.nothing or limit <= 0:
            return []
        query = self._vector_list(vector)
        with self._call("search") as client:
            response = client.query_points(
                self._collection,
                query=query,
                using=VECTOR_NAME,
                query_filter=_render(conditions) if conditions.must or conditions.must_not else None,
                limit=limit,
                offset=offset,
                with_payload=True if fields is None else (list(fields) or False),
            )
        return [
            SearchHit(id=str(p.id), score=float(p.score), payload=payload_from_dict(p.payload)) for p in response.points
        ]

    def scroll(
        self,
        *,
        flt: PhotoFilter | None = None,
        with_vectors: bool = False,
        page_size: int = 1024,
        fields: Sequence[str] | None = None,
    ) -> Iterator[PhotoPoint]:
        conditions = f.plan(flt)
        if conditions.nothing:
            return
        scroll_filter = _render(conditions)
        payload: bool | list[str] = True if fields is None else list(fields)
        vectors: bool | list[str] = [VECTOR_NAME] if with_vectors else False
        offset: qm.ExtendedPointId | None = None
        while True:
            with self._call("scroll") as client:
                records, offset = client.scroll(
                    self._collection,
                    scroll_filter=scroll_filter,
                    limit=page_size,
                    offset=offset,
                    with_payload=payload,
                    with_vectors=vectors,
                )
            for record in records:
                yield _point(record, with_vectors)
            if offset is None:
                return

    def count(self, flt: PhotoFilter | None = None) -> int:
        conditions = f.plan(flt)
        if conditions.nothing:
            return 0
        with self._call("count") as client:
            return client.count(self._collection, count_filter=_render(conditions), exact=True).count

    def get_meta(self) -> dict[str, object]:
        with self._call("get_meta") as client:
            records = client.retrieve(self._collection, [META_POINT_ID], with_payload=True)
        if not records:
            return {}
        meta = (records[0].payload or {}).get("meta")
        return dict(meta) if isinstance(meta, dict) else {}

    # -- internals ------------------------------------------------------------

    def _call_check(self) -> QdrantClient:
        if self._client is None:
            raise StoreError(f"store {self._collection} on {self._where} is closed")
        return self._client

    @contextmanager
    def _call(self, action: str) -> Iterator[QdrantClient]:
        client = self._call_check()
        try:
            yield client
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{action} failed on {self._collection} at {self._where}: {exc}") from exc

    def _ensure_collection(
        self, shard_number: int | None, replication_factor: int | None, on_disk: bool, quantization: str | None
    ) -> bool:
        """Create the collection when missing (True), else check its vector; add missing payload indexes."""
        created = False
        with self._call("open collection") as client:
            if not client.collection_exists(self._collection):
                try:
                    client.create_collection(
                        self._collection,
                        vectors_config={
                            VECTOR_NAME: qm.VectorParams(
                                size=self._dim, distance=qm.Distance.COSINE, on_disk=on_disk or None
                            )
                        },
                        shard_number=shard_number,
                        replication_factor=replication_factor,
                        quantization_config=_quantization(quantization),
                    )
                    created = True
                except UnexpectedResponse as exc:
                    # Another host created it between our check and our create.
                    if exc.status_code != 409:
                        raise
            info = client.get_collection(self._collection)
            self._check_vector(info.config.params.vectors)
            missing = [field for field in _SCHEMAS if field not in (info.payload_schema or {})]
            with warnings.catch_warnings():
                # Local (in-process) mode ignores payload indexes and says so; a server uses them.
                warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
                for field in missing:
                    client.create_payload_index(self._collection, field, field_schema=_SCHEMAS[field], wait=True)
        return created

    def _check_vector(self, vectors: qm.VectorsConfig | None) -> None:
        params = vectors.get(VECTOR_NAME) if isinstance(vectors, Mapping) else None
        if params is None:
            raise StoreError(
                f"collection {self._collection} at {self._where} has no vector named {VECTOR_NAME!r}; "
                "it was not made by photoindex"
            )
        if params.size != self._dim or params.distance != qm.Distance.COSINE:
            raise StoreError(
                f"collection {self._collection} at {self._where} holds {params.size}-dimensional "
                f"{params.distance.value} vectors, but the model makes {self._dim}-dimensional cosine ones; "
                "use another collection for this model"
            )

    def _vector_list(self, vector: np.ndarray) -> list[float]:
        arr = np.asarray(vector, dtype=np.float32)
        if arr.shape != (self._dim,):
            raise StoreError(f"vector of shape {arr.shape} given to {self._collection}, which holds dim {self._dim}")
        values: list[float] = arr.tolist()
        return values

    def _vectors(self, vector: np.ndarray | None) -> dict[str, qm.Vector]:
        return {} if vector is None else {VECTOR_NAME: self._vector_list(vector)}


def _quantization(name: str | None) -> qm.ScalarQuantization | None:
    if name is None:
        return None
    # int8 keeps 4x less in RAM; originals stay (on disk when on_disk) for rescoring.
    return qm.ScalarQuantization(scalar=qm.ScalarQuantizationConfig(type=qm.ScalarType.INT8, always_ram=True))


def _point(record: qm.Record, with_vectors: bool) -> PhotoPoint:
    vector = None
    if with_vectors and isinstance(record.vector, dict):
        values = record.vector.get(VECTOR_NAME)
        if values is not None:
            vector = np.asarray(values, dtype=np.float32)
    return PhotoPoint(id=str(record.id), payload=payload_from_dict(record.payload), vector=vector)


def _render(conditions: f.Plan) -> qm.Filter:
    return qm.Filter(
        must=[_condition(c) for c in conditions.must] or None,
        must_not=[_condition(c) for c in conditions.must_not] or None,
    )


def _condition(c: f.Condition) -> qm.Condition:
    if isinstance(c, f.AnyOf):
        match: qm.Match = qm.MatchValue(value=c.values[0]) if len(c.values) == 1 else qm.MatchAny(any=list(c.values))
        return qm.FieldCondition(key=c.key, match=match)
    if isinstance(c, f.Between):
        return qm.FieldCondition(key=c.key, range=qm.Range(gte=c.gte, lt=c.lt))
    if isinstance(c, f.Empty):
        return qm.IsEmptyCondition(is_empty=qm.PayloadField(key=c.key))
    boxes: list[qm.Condition] = [
        qm.FieldCondition(
            key=c.key,
            geo_bounding_box=qm.GeoBoundingBox(
                top_left=qm.GeoPoint(lon=west, lat=c.box.max_lat),
                bottom_right=qm.GeoPoint(lon=east, lat=c.box.min_lat),
            ),
        )
        for west, east in f.lon_ranges(c.box)
    ]
    return boxes[0] if len(boxes) == 1 else qm.Filter(should=boxes)
