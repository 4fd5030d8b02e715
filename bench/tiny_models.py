"""Tiny CLIP and BLIP models with random weights, built in-process for tests and benchmarks.

Same architectures as the real ones (open_clip CLIP, transformers BLIP), a
few layers of width 32-64 at 32 px: each builds in well under a second,
with no network and no downloaded weights. They live beside the benchmarks, which
run as plain scripts and so import only their own folder and the installed
package; the tests reach them through ``tests/fixtures/models.py``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from photoindex.indexer.models.captioner import BlipCaptioner, synthetic_tokenizer
from photoindex.indexer.models.embedder import ClipEmbedder
from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable

TINY_CLIP_NAME = "tiny-clip"
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 2, "head_width": 32},
    # The real CLIP vocabulary and context, so open_clip's own tokenizer fits.
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

TINY_BLIP_VOCAB = 128
TINY_BLIP_TEXT: dict[str, Any] = {
    "vocab_size": TINY_BLIP_VOCAB,
    "hidden_size": 32,
    "encoder_hidden_size": 32,  # = vision hidden_size: the decoder cross-attends to it
    "intermediate_size": 64,
    "projection_dim": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "max_position_embeddings": 64,
    "pad_token_id": 0,
    "eos_token_id": 2,
    "sep_token_id": 3,
    "bos_token_id": 4,
}
TINY_BLIP_VISION: dict[str, Any] = {
    "image_size": 32,
    "patch_size": 8,
    "hidden_size": 32,
    "intermediate_size": 64,
    "projection_dim": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
}

SEED = 0


def tiny_clip_config(path: Path) -> Path:
    """Write the tiny open_clip model config; ``path`` is a .json file or a folder for one."""
    target = path if path.suffix == ".json" else path / f"{TINY_CLIP_NAME}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(TINY_CLIP_CONFIG, indent=2), encoding="utf-8")
    return target


def tiny_clip_model(seed: int = SEED) -> Any:
    """The tiny CLIP architecture, randomly initialised from ``seed``."""
    ensure_torchvision_importable()
    import open_clip

    cfg = copy.deepcopy(TINY_CLIP_CONFIG)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return open_clip.CLIP(
            embed_dim=cfg["embed_dim"],
            vision_cfg=open_clip.CLIPVisionCfg(**cfg["vision_cfg"]),
            text_cfg=open_clip.CLIPTextCfg(**cfg["text_cfg"]),
        )


def tiny_clip_embedder(seed: int = SEED) -> ClipEmbedder:
    """A CPU ``ClipEmbedder`` on the tiny CLIP with random weights (dim 32, 32 px input)."""
    ensure_torchvision_importable()
    import open_clip

    tokenizer = open_clip.SimpleTokenizer(context_length=TINY_CLIP_CONFIG["text_cfg"]["context_length"])
    return ClipEmbedder(
        tiny_clip_model(seed),
        tokenizer,
        torch.device("cpu"),
        model_id=f"{TINY_CLIP_NAME}/random",
        random_weights=True,
    )


def tiny_blip_config() -> Any:
    from transformers import BlipConfig

    return BlipConfig(text_config=dict(TINY_BLIP_TEXT), vision_config=dict(TINY_BLIP_VISION))


def tiny_blip_model(seed: int = SEED) -> Any:
    """The tiny BLIP captioning architecture, randomly initialised from ``seed``."""
    ensure_torchvision_importable()
    from transformers import BlipForConditionalGeneration

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return BlipForConditionalGeneration(tiny_blip_config())


def tiny_blip_dir(path: Path, *, with_weights: bool = False) -> Path:
    """A ``save_pretrained``-style folder: config.json and tokenizer files, and weights if asked."""
    path.mkdir(parents=True, exist_ok=True)
    if with_weights:
        tiny_blip_model().save_pretrained(path)
    else:
        tiny_blip_config().save_pretrained(path)
    synthetic_tokenizer(tiny_blip_config().text_config).save_pretrained(path)
    return path


def tiny_blip_captioner(seed: int = SEED) -> BlipCaptioner:
    """A CPU ``BlipCaptioner`` on the tiny BLIP with random weights (32 px input)."""
    model = tiny_blip_model(seed)
    return BlipCaptioner(
        model,
        synthetic_tokenizer(model.config.text_config),
        torch.device("cpu"),
        model_id="tiny-blip/random",
        random_weights=True,
        max_new_tokens=8,
    )


__all__ = [
    "TINY_CLIP_CONFIG",
    "TINY_CLIP_NAME",
    "tiny_blip_captioner",
    "tiny_blip_config",
    "tiny_blip_dir",
    "tiny_blip_model",
    "tiny_clip_config",
    "tiny_clip_embedder",
    "tiny_clip_model",
]
