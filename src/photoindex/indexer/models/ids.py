"""Name the embedding model, its vector size and input size, without loading weights.

The store is opened before any model loads (a photo whose model cannot load
is still indexed, as pending), so the collection name and vector size must
come from configuration alone. Vectors from two models are never compared:
each model id gets its own collection.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photoindex.config import ModelSettings
from photoindex.errors import ConfigError

LOCAL_DIR_PREFIX = "local-dir:"
# BLIP checkpoints take 384 px squares; a captioner with another size resizes once more.
DEFAULT_CAPTION_SIZE = 384


@dataclass(frozen=True)
class ClipSpec:
    """What the store and the decoder need to know about the embedding model."""

    model_id: str
    dim: int
    image_size: int
    random_weights: bool

    @property
    def collection(self) -> str:
        return "photoindex_" + re.sub(r"[^a-z0-9]+", "_", self.model_id.lower()).strip("_")


def clip_spec(model: ModelSettings) -> ClipSpec:
    """Resolve the configured CLIP model to its id, embedding dim and input size."""
    name = model.clip
    config = _architecture_config(name)
    try:
        dim = int(config["embed_dim"])
        size = config["vision_cfg"]["image_size"]
        image_size = int(size[0] if isinstance(size, (list, tuple)) else size)
    except (KeyError, TypeError, ValueError):
        raise ConfigError([f"$.model.clip: {name!r} has no usable embed_dim/vision_cfg.image_size"]) from None
    # int8 vectors are another model's: their own collection. fp32 ONNX
    # reproduces torch to ~1e-6 (bench/backends.py), closer than fp16 on a GPU,
    # which has always shared the collection: switching backend needs no re-index.
    int8 = "+int8" if model.quantize == "int8" else ""
    return ClipSpec(
        model_id=f"{_short_name(name)}/{_weights_tag(model)}{int8}",
        dim=dim,
        image_size=image_size,
        random_weights=model.weights == "random",
    )


def _architecture_config(name: str) -> dict[str, Any]:
    if name.startswith(LOCAL_DIR_PREFIX):
        path = Path(name[len(LOCAL_DIR_PREFIX) :]).expanduser() / "open_clip_config.json"
        loaded = _read_json(path, "$.model.clip")
        cfg = loaded.get("model_cfg", loaded)
        return cfg if isinstance(cfg, dict) else {}
    if name.endswith(".json"):
        return _read_json(Path(name).expanduser(), "$.model.clip")
    bundled = _bundled_config(name)
    if bundled is not None:
        return _read_json(bundled, "$.model.clip")
    from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import open_clip

    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ConfigError([f"$.model.clip: unknown open_clip model {name!r} (see open_clip.list_models())"])
    return dict(cfg)


def _bundled_config(name: str) -> Path | None:
    """open_clip's own JSON for a built-in model, found without importing torch (seconds at start-up)."""
    spec = importlib.util.find_spec("open_clip")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "model_configs" / f"{name}.json"
        if candidate.is_file():
            return candidate
    return None


def _read_json(path: Path, key: str) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError([f"{key}: cannot read model config {path}: {exc}"]) from None
    if not isinstance(loaded, dict):
        raise ConfigError([f"{key}: {path} is not a JSON object"])
    return loaded


def _short_name(name: str) -> str:
    if name.startswith(LOCAL_DIR_PREFIX):
        return "local-" + Path(name[len(LOCAL_DIR_PREFIX) :]).name
    if name.endswith(".json"):
        return Path(name).stem
    return name


def _weights_tag(model: ModelSettings) -> str:
    if model.weights is None:
        return "local" if model.clip.startswith(LOCAL_DIR_PREFIX) else model.pretrained
    if model.weights == "random":
        return "random"
    path = Path(model.weights).expanduser()
    try:
        size = os.stat(path).st_size
    except OSError:
        raise ConfigError([f"$.model.weights: weights file {path} does not exist"]) from None
    # Name and size tell weights files apart without hashing hundreds of MB at every start.
    return f"file-{path.stem}-{size}"
