"""The shard's configurations: the serving one, and a built one whose every part is memory-mapped to load fast.

Loading a shard holds the GIL throughout (qdrant-edge), and the daemon loads
the built shard while it serves. With qdrant-edge's defaults a built shard of
100k photos took 1.5-3.4 s to load on 2 cores: the vectors, graph, quantized
vectors and payload indexes are read into memory. With all of them
``Memory.Cold`` (memory-mapped, paged in by the OS as searches touch them,
and still in the page cache from the build) it took 0.16-0.2 s
(bench/index_build.py). The payload indexes keep the memory placement they
were created with, so the build recreates those that are not mapped yet
(once per store: the built shard keeps the mapped ones).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import qdrant_edge as qe

from photoindex.indexer.store._protocol import VECTOR_NAME

_COLD = qe.Memory.Cold

# Segments smaller than this (in KB of vectors) are searched in full rather than through their graph:
# qdrant's default, about 5k vectors of dim 512, where a full scan takes about as long as a graph search.
_FULL_SCAN_KB = 10_000
# Every segment gets its graph (qdrant's default, 10 MB, would leave small stores unindexed); the daemon
# only asks for a build once the store has tens of thousands of vectors anyway.
_INDEX_ABOVE_KB = 1

_MAPPED_INDEX: dict[qe.PayloadSchemaType, Callable[[], qe.PayloadSchemaParams]] = {
    qe.PayloadSchemaType.Keyword: lambda: qe.KeywordIndexParams(memory=_COLD),
    qe.PayloadSchemaType.Integer: lambda: qe.IntegerIndexParams(memory=_COLD),
    qe.PayloadSchemaType.Float: lambda: qe.FloatIndexParams(memory=_COLD),
    qe.PayloadSchemaType.Geo: lambda: qe.GeoIndexParams(memory=_COLD),
}


def edge_config(dim: int) -> qe.EdgeConfig:
    """The serving shard's vectors; every other setting (the index's, where it lives) stays as the shard has it."""
    return qe.EdgeConfig(vectors={VECTOR_NAME: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)})


def built_config(dim: int, *, m: int, ef_construct: int, quantized: bool) -> qe.EdgeConfig:
    """The HNSW index (and int8 scalar quantization), with vectors, graph and ids all memory-mapped."""
    return qe.EdgeConfig(
        vectors={VECTOR_NAME: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=_COLD)},
        hnsw_config=qe.HnswIndexConfig(m=m, ef_construct=ef_construct, full_scan_threshold=_FULL_SCAN_KB, memory=_COLD),
        quantization_config=qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, memory=_COLD)
        if quantized
        else None,
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=_INDEX_ABOVE_KB),
        payload_memory=_COLD,
        id_tracker_memory=_COLD,
    )


def map_field_indexes(shard: qe.EdgeShard, directory: Path) -> list[str]:
    """Recreate, memory-mapped, the payload indexes that are not; returns their fields."""
    mapped = _mapped_fields(directory)
    redone = []
    for field, info in shard.info().payload_schema.items():
        params = _MAPPED_INDEX.get(info.data_type)
        if params is None or field in mapped:
            continue
        shard.update(qe.UpdateOperation.delete_field_index(field))
        shard.update(qe.UpdateOperation.create_field_index(field, params()))
        redone.append(field)
    return redone


def _mapped_fields(directory: Path) -> set[str]:
    """Fields whose index every segment keeps memory-mapped, as the segments' index configs say.

    Unreadable or unexpected: none, so every index is recreated (slower, never wrong).
    """
    per_segment: list[set[str]] = []
    for config in directory.glob("segments/*/payload_index/config.json"):
        try:
            fields = json.loads(config.read_text())["indexed_fields"]
            per_segment.append(
                {f for f, spec in fields.items() if isinstance(spec, dict) and spec.get("memory") == "cold"}
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return set()
    return set.intersection(*per_segment) if per_segment else set()


__all__ = ["built_config", "edge_config", "map_field_indexes"]
