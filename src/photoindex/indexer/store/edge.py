"""``EdgeStore``: the embedded store, one qdrant-edge shard directory per collection.

Durability: every update goes through the shard's write-ahead log before the
call returns, so a killed process (``kill -9``) loses nothing it was told was
written; ``flush()`` also writes the segments, which makes the next open fast.

Threads: qdrant-edge-py holds the GIL for the whole of each call (measured:
a 12 ms search stalls every other Python thread for 12 ms). Searches, batched
upserts and scrolls are milliseconds; ``optimize()`` is not (see there).

The vector index is built in another process and swapped in (``vector_index``);
here are only its hooks: the journal of ids written meanwhile, and the swap.

Points without a vector (pending and failed files) are stored with an empty
vector map, which a named-vector shard accepts: they have a payload, count
and scroll like any photo, and vector search never returns them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import qdrant_edge as qe
import structlog

from photoindex.errors import ErrorCode, StoreError
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
from photoindex.indexer.store.edge_layout import EdgeLayout
from photoindex.indexer.store.edge_mapped import edge_config
from photoindex.indexer.store.payload import payload_from_dict
from photoindex.indexer.store.points import META_KIND, META_POINT_ID, merged_payload, with_derived_fields

log = structlog.get_logger(__name__)

_CONFIG_FILE = "edge_config.json"  # written by qdrant-edge when a shard is created
# The int8 candidates are rescored with the stored float vectors. ef 256: at 1M clustered vectors recall@10
# was 0.931 at ef 128 and 0.962 at 256, for 0.6 ms more per search of the index (README, "A large library").
_SEARCH_PARAMS = qe.SearchParams(hnsw_ef=256, quantization=qe.QuantizationSearchParams(rescore=True))
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_SCHEMAS = {
    **dict.fromkeys(KEYWORD_FIELDS, qe.PayloadSchemaType.Keyword),
    **dict.fromkeys(INTEGER_FIELDS, qe.PayloadSchemaType.Integer),
    **dict.fromkeys(FLOAT_FIELDS, qe.PayloadSchemaType.Float),
    **dict.fromkeys(GEO_FIELDS, qe.PayloadSchemaType.Geo),
}


class EdgeStore:
    """A ``VectorStore`` in ``<base_dir>/<collection>``, held by this process alone."""

    def __init__(self, shard: qe.EdgeShard, *, path: Path, collection: str, dim: int) -> None:
        self._shard: qe.EdgeShard | None = shard
        self._path = path
        self._collection = collection
        self._dim = dim
        self.layout = EdgeLayout(path.parent, collection)
        # Held around every shard call, so the swap never closes a shard a call is using.
        self._lock = threading.Lock()
        self._journal: set[str] | None = None  # ids written since a build copied the shard; None: no build

    @classmethod
    def open(cls, base_dir: Path, collection: str, dim: int) -> EdgeStore:
        """Open the collection's shard, creating it (and its payload indexes) when new."""
        if not _COLLECTION_NAME.fullmatch(collection):
            raise StoreError(f"collection name {collection!r} is not a plain file name")
        layout = EdgeLayout(Path(base_dir), collection)
        path = layout.active()
        started = time.perf_counter()
        config = edge_config(dim)
        existing = (path / _CONFIG_FILE).exists()
        if existing:
            _check_stored_dim(path, collection, dim)
        try:
            path.mkdir(parents=True, exist_ok=True)
            shard = qe.EdgeShard.load(str(path), config) if existing else qe.EdgeShard.create(str(path), config)
        except Exception as exc:
            raise _open_error(exc, path, collection, dim) from exc
        store = cls(shard, path=path, collection=collection, dim=dim)
        try:
            layout.remove_leftovers()  # only now: the shard's lock says no other process is building here
            store._ensure_indexes()
            points = shard.info().points_count
        except BaseException:
            store.close()
            raise
        log.info(
            "store.opened",
            backend="edge",
            path=str(path),
            created=not existing,
            points=points,
            ms=round((time.perf_counter() - started) * 1000),
        )
        return store

    @property
    def collection(self) -> str:
        return self._collection

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def path(self) -> Path:
        """The shard directory."""
        return self._path

    # -- the vector index build's hooks ------------------------------------------

    def start_journal(self) -> None:
        """Record the id of every point written from now on (a build copied the shard as it is now)."""
        self._journal = set()

    def take_journal(self) -> set[str]:
        """The ids written since ``start_journal``; recording stops."""
        journal, self._journal = self._journal or set(), None
        return journal

    def vector_counts(self) -> tuple[int, int]:
        """(points with a vector, vectors in the HNSW index); the difference is searched in full."""
        has_vector = qe.Filter(must=[qe.HasVectorCondition(VECTOR_NAME)])
        with self._call("count vectors") as shard:
            return int(shard.count(qe.CountRequest(exact=True, filter=has_vector))), shard.info().indexed_vectors_count

    def copy_points(self, ids: Sequence[str], target: qe.EdgeShard) -> None:
        """Write these points into ``target`` as this shard holds them now: gone here, deleted there."""
        with self._call("retrieve for copy") as shard:
            records = shard.retrieve(list(ids), True, True)
        present = {str(r.id) for r in records}
        points = [qe.Point(r.id, r.vector if isinstance(r.vector, dict) else {}, r.payload or {}) for r in records]
        gone = [i for i in ids if i not in present]
        if gone:
            target.update(qe.UpdateOperation.delete_points(list(gone)))
        if points:
            target.update(qe.UpdateOperation.upsert_points(points))

    def replace_shard(self, shard: qe.EdgeShard, path: Path) -> qe.EdgeShard | None:
        """Serve from ``shard`` (in ``path``) from now on; returns the old one, which no call is using."""
        with self._lock:
            old, self._shard, self._path = self._shard, shard, path
        return old

    # -- writes ---------------------------------------------------------------

    def upsert(self, points: Sequence[PhotoPoint]) -> None:
        if not points:
            return
        self._record(p.id for p in points)
        edge_points = [qe.Point(p.id, self._vectors(p.vector), with_derived_fields(p.payload)) for p in points]
        with self._call("upsert") as shard:
            shard.update(qe.UpdateOperation.upsert_points(edge_points))

    def set_payload(self, point_id: str, payload: Mapping[str, object]) -> None:
        self._record([point_id])
        with self._call("set_payload") as shard:
            try:
                shard.update(qe.UpdateOperation.set_payload([point_id], merged_payload(payload)))
            except Exception:
                if not shard.retrieve([point_id], False, False):
                    raise StoreError(f"no point {point_id} in {self._collection}", code=ErrorCode.NOT_FOUND) from None
                raise

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self._record(ids)
        with self._call("delete") as shard:
            shard.update(qe.UpdateOperation.delete_points(list(ids)))

    def set_meta(self, meta: Mapping[str, object]) -> None:
        point = qe.Point(META_POINT_ID, {}, {"kind": META_KIND, "meta": dict(meta)})
        self._record([META_POINT_ID])
        with self._call("set_meta") as shard:
            shard.update(qe.UpdateOperation.upsert_points([point]))

    def flush(self) -> None:
        with self._call("flush") as shard:
            shard.flush()

    def close(self) -> None:
        """Flush and release the shard (and its lock); a second call does nothing."""
        with self._lock:
            shard, self._shard = self._shard, None
        if shard is None:
            return
        try:
            shard.flush()
        except Exception as exc:
            raise StoreError(f"flush on close failed for {self._path}: {exc}") from exc
        finally:
            shard.close()
        log.info("store.closed", backend="edge", path=str(self._path))

    def optimize(self) -> bool:
        """Merge segments and build the HNSW index; True when anything changed.

        It holds the GIL throughout: 93 s for 100k vectors of dim 512 on 2
        cores, during which the rest of the process stands still. The daemon
        never calls it: ``VectorIndexBuilder`` builds the index in a child
        process and swaps it in.
        """
        with self._call("optimize") as shard:
            return bool(shard.optimize())

    # -- reads ----------------------------------------------------------------

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[PhotoPoint]:
        if not ids:
            return []
        with self._call("retrieve") as shard:
            records = shard.retrieve(list(ids), True, [VECTOR_NAME] if with_vectors else False)
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
        request = qe.QueryRequest(
            limit=limit,
            offset=offset,
            query=qe.Query.Nearest(self._vector_list(vector), using=VECTOR_NAME),
            filter=_render(conditions) if conditions.must or conditions.must_not else None,
            with_payload=_payload_selector(fields),
            params=_SEARCH_PARAMS,
        )
        with self._call("search") as shard:
            scored = shard.query(request)
        return [SearchHit(id=str(s.id), score=float(s.score), payload=payload_from_dict(s.payload)) for s in scored]

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
        edge_filter = _render(conditions)
        payload = _payload_selector(fields)
        vectors: bool | list[str] = [VECTOR_NAME] if with_vectors else False
        offset: qe.PointId | None = None
        while True:
            request = qe.ScrollRequest(
                offset=offset, limit=page_size, filter=edge_filter, with_payload=payload, with_vector=vectors
            )
            with self._call("scroll") as shard:
                records, offset = shard.scroll(request)
            for record in records:
                yield _point(record, with_vectors)
            if offset is None:
                return

    def count(self, flt: PhotoFilter | None = None) -> int:
        conditions = f.plan(flt)
        if conditions.nothing:
            return 0
        with self._call("count") as shard:
            return int(shard.count(qe.CountRequest(exact=True, filter=_render(conditions))))

    def get_meta(self) -> dict[str, object]:
        with self._call("get_meta") as shard:
            records = shard.retrieve([META_POINT_ID], True, False)
        if not records:
            return {}
        meta = (records[0].payload or {}).get("meta")
        return dict(meta) if isinstance(meta, dict) else {}

    # -- internals ------------------------------------------------------------

    def _record(self, ids: Iterable[str]) -> None:
        # Recorded before the write: a write that fails after reaching the shard is still copied by the swap.
        if self._journal is not None:
            self._journal.update(ids)

    @contextmanager
    def _call(self, action: str) -> Iterator[qe.EdgeShard]:
        with self._lock:
            shard = self._shard
            if shard is None:
                raise StoreError(f"store {self._path} is closed")
            try:
                yield shard
            except StoreError:
                raise
            except Exception as exc:
                raise StoreError(f"{action} failed on {self._path}: {exc}") from exc

    def _ensure_indexes(self) -> None:
        with self._call("create payload index") as shard:
            existing = shard.info().payload_schema
            for field, schema in _SCHEMAS.items():
                if field not in existing:
                    shard.update(qe.UpdateOperation.create_field_index(field, schema))

    def _vector_list(self, vector: np.ndarray) -> list[float]:
        arr = np.asarray(vector, dtype=np.float32)
        if arr.shape != (self._dim,):
            raise StoreError(f"vector of shape {arr.shape} given to {self._collection}, which holds dim {self._dim}")
        values: list[float] = arr.tolist()
        return values

    def _vectors(self, vector: np.ndarray | None) -> dict[str, qe.NamedVector]:
        return {} if vector is None else {VECTOR_NAME: self._vector_list(vector)}


def _check_stored_dim(path: Path, collection: str, dim: int) -> None:
    """Refuse a shard built for another vector size, before loading touches it."""
    try:
        stored = json.loads((path / _CONFIG_FILE).read_text())["vectors"][VECTOR_NAME]["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # unreadable here: the load itself checks the config against the segments
    if stored != dim:
        raise StoreError(
            f"collection {collection} at {path} holds {stored}-dimensional vectors, "
            f"but the model makes {dim}-dimensional ones; use another collection for this model"
        )


def _open_error(exc: Exception, path: Path, collection: str, dim: int) -> StoreError:
    text = str(exc)
    if "WouldBlock" in text:  # the WAL's advisory lock is held by another open shard
        return StoreError(
            f"another photoindex process is using {path}; stop it first (or use another data directory)",
            code=ErrorCode.STORE_IN_USE,
        )
    if "ncompatible" in text:
        return StoreError(f"collection {collection} at {path} does not match dim={dim}, cosine: {text}")
    return StoreError(f"cannot open the store at {path}: {text}")


def _point(record: qe.Record, with_vectors: bool) -> PhotoPoint:
    vector = None
    if with_vectors and isinstance(record.vector, dict):  # the named vectors asked for; empty: none stored
        values = record.vector.get(VECTOR_NAME)
        if values is not None:
            vector = np.asarray(values, dtype=np.float32)
    return PhotoPoint(id=str(record.id), payload=payload_from_dict(record.payload), vector=vector)


def _payload_selector(fields: Sequence[str] | None) -> bool | qe.PayloadSelector:
    if fields is None:
        return True
    return qe.PayloadSelector.Include(list(fields)) if fields else False


def _render(conditions: f.Plan) -> qe.Filter:
    return qe.Filter(
        must=[_condition(c) for c in conditions.must] or None,
        must_not=[_condition(c) for c in conditions.must_not] or None,
    )


def _condition(c: f.Condition) -> qe.ConditionType:
    if isinstance(c, f.AnyOf):
        match = qe.MatchValue(c.values[0]) if len(c.values) == 1 else qe.MatchAny(list(c.values))
        return qe.FieldCondition(c.key, match=match)
    if isinstance(c, f.Between):
        return qe.FieldCondition(c.key, range=qe.RangeFloat(gte=c.gte, lt=c.lt))
    if isinstance(c, f.Empty):
        return qe.IsEmptyCondition(c.key)
    boxes: list[qe.ConditionType] = [
        qe.FieldCondition(
            c.key,
            geo_bounding_box=qe.GeoBoundingBox(
                top_left=qe.GeoPoint(lon=west, lat=c.box.max_lat),
                bottom_right=qe.GeoPoint(lon=east, lat=c.box.min_lat),
            ),
        )
        for west, east in f.lon_ranges(c.box)
    ]
    return boxes[0] if len(boxes) == 1 else qe.Filter(should=boxes)
