"""How the indexing pipeline runs: what the composition root builds from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from photoindex.config.settings import DEFAULT_MAX_PIXELS, CaptionMode
from photoindex.indexer.decoding.places import GeoLookup


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline runs; built from settings by the composition root."""

    host_id: str
    model_id: str
    model_size: int
    captions: CaptionMode = "deferred"
    batch_size: int = 0  # 0: as the model worker sizes it (probed on CUDA)
    max_wait_s: float = 0.05
    hash_workers: int = 2
    decode_concurrency: int = 4
    thumbs_dir: Path | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    geo: GeoLookup | None = None  # place names and local times for photos with GPS (None: not derived)


__all__ = ["PipelineOptions"]
