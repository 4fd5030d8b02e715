"""Choose the runtime CLIP runs in (torch or ONNX Runtime) and build the embedder in it.

The rule for ``model.backend = "auto"``: ONNX Runtime on a CPU, torch on a
GPU (CUDA, MPS). ``model.quantize = "int8"`` implies ONNX Runtime, whose
dynamic int8 MatMuls are what makes int8 fast on a CPU.

Measured with bench/backends.py (ViT-B-32, random weights, batch 16, a
2-core AMD EPYC VM, interleaved runs; README, "Inference backends"): the
figures behind the rule are recorded there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from photoindex.config import ModelSettings
    from photoindex.indexer.embedder import ImageEmbedder


def choose_backend(backend: str, quantize: str, device: torch.device) -> str:
    """ "torch" or "onnx" for the ``[model]`` settings on ``device`` (already resolved)."""
    if backend != "auto":
        return backend
    if quantize == "int8" or device.type == "cpu":
        return "onnx"
    return "torch"


def load_embedder(model: ModelSettings, cache_dir: Path) -> ImageEmbedder:
    """The configured CLIP embedder in the chosen runtime (imports torch).

    ``cache_dir``: the app's cache folder; ONNX exports are kept under it.
    """
    from photoindex.indexer.device import resolve_device
    from photoindex.indexer.embedder import load_clip

    device = resolve_device("cpu" if model.backend == "onnx" else model.device)
    backend = choose_backend(model.backend, model.quantize, device)
    if backend == "onnx" and device.type != "cpu":
        device = resolve_device("cpu")  # "auto" on a GPU machine with int8 asked for: the CPU runs it
    if backend == "torch":
        return load_clip(model.clip, model.pretrained, model.weights, str(device))
    from photoindex.indexer.onnx_embedder import OnnxClipEmbedder

    clip = load_clip(model.clip, model.pretrained, model.weights, "cpu")
    return OnnxClipEmbedder.from_clip(clip, cache_dir, quantize=model.quantize, threads=model.onnx_threads or None)


__all__ = ["choose_backend", "load_embedder"]
