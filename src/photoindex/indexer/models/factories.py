"""The configured models, built beside them: CLIP embedder, BLIP captioner, and the worker that runs them.

Each loader imports torch only when called, so a process that only hands a
worker its loaders (the daemon, whose models live in a child process) never
imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from photoindex.config import ModelSettings
from photoindex.indexer.models.openmp import prefer_passive_waits
from photoindex.indexer.models.worker import ModelWorker

if TYPE_CHECKING:
    from photoindex.indexer.models.captioner import Captioner
    from photoindex.indexer.models.embedder import ImageEmbedder


def load_embedder_for(model: ModelSettings, cache_dir: Path) -> ImageEmbedder:
    """Build the configured CLIP embedder in its backend (imports torch); ONNX exports go under ``cache_dir``."""
    prefer_passive_waits()
    from photoindex.indexer.models.backends import load_embedder

    return load_embedder(model, cache_dir)


def load_captioner_for(model: ModelSettings) -> Captioner:
    """Build the configured BLIP captioner (imports torch)."""
    prefer_passive_waits()
    from photoindex.indexer.models.captioner import load_blip

    device = "cpu" if model.quantize == "int8" else model.device  # int8 layers are CPU kernels
    return load_blip(
        model.caption_model, "random" if model.weights == "random" else None, device, quantize=model.quantize
    )


def build_model_worker(model: ModelSettings, cache_dir: Path) -> ModelWorker:
    """A model worker whose loaders read the model settings; nothing loads until first use."""

    def load_embedder() -> ImageEmbedder:
        return load_embedder_for(model, cache_dir)

    def load_captioner() -> Captioner:
        return load_captioner_for(model)

    return ModelWorker(load_embedder, load_captioner if model.captions != "off" else None, batch_size=model.batch_size)


__all__ = ["build_model_worker", "load_captioner_for", "load_embedder_for"]
