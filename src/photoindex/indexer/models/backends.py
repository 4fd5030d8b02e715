"""Choose the runtime CLIP runs in (torch or ONNX Runtime) and build the embedder in it.

The rule for ``model.backend = "auto"``: torch, except that
``model.quantize = "int8"`` runs CLIP in ONNX Runtime, whose dynamic int8
MatMuls are what makes int8 fast on a CPU (2.9-3.4× torch fp32's image rate;
the pipeline 1.64× torch's).

Why not fp32 ONNX on a CPU by default: measured with bench/backends.py and
bench/ingest.py --backends (ViT-B-32, random weights, batch 16, 2-core Intel
Xeon and AMD EPYC VMs, interleaved runs; README, "Inference backends"), its
image tower ran at 0.90-1.13× torch's rate and the pipeline at 1.00-1.15×,
well short of a gain worth its costs: a 17-35 s export and 600 MB of cache on
first use, 6 % more memory while loaded and 3 % more at the peak of indexing.
Its text queries take 0.70-0.74 of torch's time: ``backend = "onnx"`` is
there for that. On a GPU torch (fp16) is the only choice.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photoindex.config import ModelSettings
    from photoindex.indexer.models.embedder import ImageEmbedder


def choose_backend(backend: str, quantize: str) -> str:
    """ "torch" or "onnx" for the ``[model]`` settings."""
    if backend != "auto":
        return backend
    return "onnx" if quantize == "int8" else "torch"


def load_embedder(model: ModelSettings, cache_dir: Path) -> ImageEmbedder:
    """The configured CLIP embedder in the chosen runtime (imports torch).

    ``cache_dir``: the app's cache folder; ONNX exports are kept under it.
    """
    from photoindex.indexer.models.embedder import load_clip

    if choose_backend(model.backend, model.quantize) == "torch":
        return load_clip(model.clip, model.pretrained, model.weights, model.device)
    from photoindex.indexer.models.onnx_embedder import OnnxClipEmbedder

    clip = load_clip(model.clip, model.pretrained, model.weights, "cpu")
    return OnnxClipEmbedder.from_clip(clip, cache_dir, quantize=model.quantize, threads=model.onnx_threads or None)


__all__ = ["choose_backend", "load_embedder"]
