"""Recall@10 and latency of the embedded store's search settings, on a library ``bench/scale.py --work`` left behind.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --work /tmp/scale     # keeps the library in /tmp/scale
    .venv/bin/python bench/search_params.py /tmp/scale                     # then this, on its store

Queries are the scale benchmark's (stored vectors plus noise, same seed);
the truth is qdrant-edge's exact search over every point. Each setting is
timed twice: over the whole store (points written since the last index
build are scanned in full) and over the indexed part alone, which is what
the search ``hnsw_ef`` changes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from photoindex.indexer.store import VECTOR_NAME
from photoindex.indexer.store.edge_layout import EdgeLayout
from scale_library import LIBRARY_SEED, ClusteredVectors, recall_at_k, search_queries

K = 10
SETTINGS = {
    "ef 128, int8 rescored": qe.SearchParams(hnsw_ef=128, quantization=qe.QuantizationSearchParams(rescore=True)),
    "ef 128, int8 rescored, oversampling 2": qe.SearchParams(
        hnsw_ef=128, quantization=qe.QuantizationSearchParams(rescore=True, oversampling=2.0)
    ),
    "ef 256, int8 rescored": qe.SearchParams(hnsw_ef=256, quantization=qe.QuantizationSearchParams(rescore=True)),
    "ef 512, int8 rescored": qe.SearchParams(hnsw_ef=512, quantization=qe.QuantizationSearchParams(rescore=True)),
    "ef 256, float vectors": qe.SearchParams(hnsw_ef=256, quantization=qe.QuantizationSearchParams(ignore=True)),
}


def shard_directory(work: Path) -> Path:
    """The directory that holds the store now, as the daemon's layout resolves it."""
    base = work / "data" / "store"
    pointers = sorted(base.glob("*+current"))
    if not pointers:
        raise SystemExit(f"no built store under {base}: run bench/scale.py --work {work} first")
    return EdgeLayout(base, pointers[0].name.removesuffix("+current")).active()


def vector_size(directory: Path) -> int:
    """The dimension qdrant-edge recorded when the shard was created."""
    config = json.loads((directory / "edge_config.json").read_text(encoding="utf-8"))
    return int(config["vectors"][VECTOR_NAME]["size"])


def run(shard: qe.EdgeShard, qs: np.ndarray, params: qe.SearchParams) -> tuple[list[list[float]], list[float]]:
    scores, times = [], []
    for v in qs:
        began = time.perf_counter()
        hits = shard.query(
            qe.QueryRequest(limit=K, query=qe.Query.Nearest(v.tolist(), using=VECTOR_NAME), params=params)
        )
        times.append(time.perf_counter() - began)
        scores.append([h.score for h in hits])
    return scores, times


def indexed_only(params: qe.SearchParams) -> qe.SearchParams:
    return qe.SearchParams(hnsw_ef=params.hnsw_ef, quantization=params.quantization, indexed_only=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the folder given to bench/scale.py --work")
    parser.add_argument("--n", type=int, default=1_000_000, help="photos bench/scale.py built (its --n)")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    directory = shard_directory(args.work)
    shard = qe.EdgeShard.load(str(directory))
    try:
        info = shard.info()
        print(f"{directory}: {info.points_count:,} points, {info.indexed_vectors_count:,} indexed")
        qs = search_queries(ClusteredVectors(vector_size(directory), LIBRARY_SEED), args.n, args.queries)
        exact, _ = run(shard, qs, qe.SearchParams(exact=True))
        kth = np.array([s[-1] for s in exact])
        for name, params in SETTINGS.items():
            run(shard, qs, params)  # warms the page cache
            scores, whole = run(shard, qs, params)
            _, index = run(shard, qs, indexed_only(params))
            recall = recall_at_k(scores, kth, K)
            print(
                f"{name:<40} recall@10 {recall:.3f}   p50 / p95 {np.percentile(whole, 50) * 1000:5.1f} / "
                f"{np.percentile(whole, 95) * 1000:5.1f} ms   the index alone {np.percentile(index, 50) * 1000:4.1f} / "
                f"{np.percentile(index, 95) * 1000:4.1f} ms"
            )
    finally:
        shard.close()


if __name__ == "__main__":
    main()
