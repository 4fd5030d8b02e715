"""The child process that builds the vector index of a copied shard (``python -m`` this module).

qdrant-edge's ``optimize()`` holds the GIL from start to end (93 s for 100k
vectors of dim 512 on 2 cores), so it runs here, in a process of its own at
the lowest CPU priority, on a copy of the store that nobody else has open.
It loads the copy with the index settings, optimizes (merges segments, builds
the HNSW graph and the int8 quantized vectors), flushes and closes; exit
status 0 means the directory holds a finished build. It dies with the daemon
(``PR_SET_PDEATHSIG``), so a killed daemon leaves no build running.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from photoindex.indexer.store.edge_mapped import built_config, map_field_indexes
from photoindex.lifeline import bind_to_spawner


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge_index_child")
    parser.add_argument("directory")
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--m", type=int, required=True)
    parser.add_argument("--ef-construct", type=int, required=True)
    parser.add_argument("--quantized", action="store_true")
    parser.add_argument("--parent", type=int, required=True, help="the daemon's pid: this process ends with it")
    args = parser.parse_args(argv)
    bind_to_spawner(args.parent)
    os.nice(19)  # searches and indexing in the daemon come first
    started = time.perf_counter()
    config = built_config(args.dim, m=args.m, ef_construct=args.ef_construct, quantized=args.quantized)
    shard = qe.EdgeShard.load(args.directory, config)
    try:
        remapped = map_field_indexes(shard, Path(args.directory))
        shard.optimize()
        shard.flush()
        info = shard.info()
    finally:
        shard.close()
    print(
        f"built {info.indexed_vectors_count} of {info.points_count} points in {info.segments_count} segments, "
        f"{time.perf_counter() - started:.1f} s; payload indexes mapped: {', '.join(remapped) or 'none new'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
