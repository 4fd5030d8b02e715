"""The daemon's side of one inference backend once its models are unloaded: this process's RSS, as JSON.

    .venv/bin/python bench/unloaded_rss.py CLIP BACKEND CACHE_DIR    # BACKEND: torch | onnx | int8

Builds the daemon's model worker (the models in a child process) with the
backend, loads CLIP, embeds a batch and a text, and waits for the worker to
unload it (the child process ends); then prints this process's resident
memory and whether torch or onnxruntime were imported here. A separate
script, importing only what the daemon imports for this, so that nothing of
the calling benchmark is counted. Run by bench/backends.py.
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import time
from pathlib import Path

import anyio
import numpy as np

from ingest_backends import BACKENDS  # its imports are the standard library's
from photoindex.config import ModelSettings
from photoindex.indexer.models.process import build_remote_model_worker

UNLOAD_WAIT_S = 120.0


def measure(clip: str, name: str, cache: Path) -> dict[str, object]:
    backend, quantize = BACKENDS[name]
    model = ModelSettings(
        clip=clip,
        weights="random",
        captions="off",
        backend=backend,  # type: ignore[arg-type]
        quantize=quantize,  # type: ignore[arg-type]
        idle_unload_s=0.5,
    )
    worker, host = build_remote_model_worker(model, cache)
    try:
        side = anyio.run(worker.ensure_embedder).input_size
        anyio.run(worker.embed_images, np.zeros((16, side, side, 3), dtype=np.uint8))
        anyio.run(worker.embed_texts, ["a red kite"])
        deadline = time.monotonic() + UNLOAD_WAIT_S
        while host.pid is not None:  # the worker unloads after idle_unload_s; the model process then ends
            if time.monotonic() > deadline:
                raise SystemExit(f"the {name} model was not unloaded within {UNLOAD_WAIT_S} s")
            time.sleep(0.05)
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # as the worker does once the models are released
        with open("/proc/self/status", encoding="ascii") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return {
            "rss_mib": round(kb / 1024, 1),
            "imports_torch": "torch" in sys.modules,
            "imports_onnxruntime": "onnxruntime" in sys.modules,
        }
    finally:
        worker.close()


if __name__ == "__main__":
    clip_arg, name_arg, cache_arg = sys.argv[1:4]
    print(json.dumps(measure(clip_arg, name_arg, Path(cache_arg))))
