"""Turn images and text into comparable unit vectors (CLIP via open_clip).

``ImageEmbedder`` is what the pipeline and the query API depend on;
``ClipEmbedder`` implements it on an already-built open_clip model, and
``load_clip`` builds one from the ``[model]`` settings: a hub pretrained tag,
a local weights file, ``local-dir:`` or a model-config JSON file, or
deterministic random weights for tests and benchmarks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np
import structlog
import torch
import torch.nn.functional as F

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.device import dtype_for, inference, resolve_device
from photoindex.indexer.models.hub import HubAccess, hub_or_local_cache
from photoindex.indexer.models.load_errors import first_line, load_cause
from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable
from photoindex.logs import adopt_library_loggers, expected_library_message

DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "laion2b_s34b_b79k"
RANDOM_WEIGHTS = "random"
WEIGHTS_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")

# Random weights are seeded so that "<name>/random" always names the same
# vectors: a restarted daemon must produce vectors comparable with the ones
# already stored under that model id.
RANDOM_SEED = 0

# open_clip's defaults (OpenAI's CLIP training statistics), used when a model
# carries no preprocessing config of its own.
_OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_OFFLINE_HINT = (
    'to use weights already on this machine, set model.weights = "/path/to/file" '
    "(a .pt/.bin/.safetensors checkpoint of this architecture) or "
    'model.clip = "local-dir:/path/to/dir" (a folder with open_clip_config.json and the weights); '
    'model.weights = "random" runs untrained weights (for testing only)'
)

log = structlog.get_logger(__name__)


@runtime_checkable
class ImageEmbedder(Protocol):
    """Maps images and texts into one space where cosine similarity means "looks like"."""

    model_id: str  # names architecture + weights; vectors from different ids are never compared
    dim: int
    input_size: int  # square side, in pixels, that embed_images expects
    random_weights: bool  # True: untrained weights, the vectors mean nothing

    def embed_images(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3), already resized and centre-cropped to S = input_size
        -> float32 (N, dim), each row of unit length."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> float32 (N, dim), each row of unit length."""
        ...


class ClipEmbedder:
    """An ``ImageEmbedder`` on an open_clip model that the caller has built.

    The model is moved to ``device`` and put in eval mode. It computes in
    ``dtype`` (default ``dtype_for(device)``: fp16 autocast on CUDA, fp32
    elsewhere). Pixels travel as uint8 (through pinned memory on CUDA);
    conversion to float and normalisation happen on the device.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Callable[[list[str]], torch.Tensor],
        device: torch.device,
        *,
        model_id: str,
        random_weights: bool = False,
        dtype: torch.dtype | None = None,
        compile: bool = False,
    ) -> None:
        self.model_id = model_id
        self.random_weights = random_weights
        self.device = device
        self.dtype = dtype if dtype is not None else dtype_for(device)
        self._model = model.to(device).eval()
        self._tokenizer = tokenizer
        # Inputs go in as the weights' dtype: a model converted to half by
        # open_clip (precision="fp16") wants half inputs even under autocast.
        self._param_dtype = next(self._model.parameters()).dtype

        cfg = getattr(self._model.visual, "preprocess_cfg", None) or {}
        self.input_size = _square_side(cfg.get("size", self._model.visual.image_size))
        mean = torch.tensor(cfg.get("mean", _OPENAI_MEAN), dtype=torch.float32, device=device)
        std = torch.tensor(cfg.get("std", _OPENAI_STD), dtype=torch.float32, device=device)
        # (x / 255 - mean) / std as one multiply and one subtract per pixel.
        self._scale = (1.0 / (255.0 * std)).view(1, 3, 1, 1)
        self._shift = (mean / std).view(1, 3, 1, 1)

        self._encode_image: Callable[[torch.Tensor], torch.Tensor] = self._model.encode_image
        if compile:
            self._encode_image = torch.compile(self._model.encode_image)

        output_dim = getattr(self._model.visual, "output_dim", None)
        self.dim = int(output_dim) if output_dim else int(self.embed_texts([""]).shape[1])

    @property
    def model(self) -> Any:
        """The open_clip model (the ONNX backend exports its towers)."""
        return self._model

    @property
    def tokenizer(self) -> Callable[[list[str]], torch.Tensor]:
        return self._tokenizer

    @property
    def normalisation(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift), each (1, 3, 1, 1): model input = uint8 pixels * scale - shift."""
        return self._scale, self._shift

    def embed_images(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) -> float32 (N, dim) unit vectors."""
        size = self.input_size
        if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[1:] != (size, size, 3):
            raise ValueError(
                f"expected uint8 pixels of shape (N, {size}, {size}, 3), got {pixels.dtype} {pixels.shape}"
            )
        if len(pixels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with inference(self.device, self.dtype, "embed_images", len(pixels), ErrorCode.EMBED):
            batch = torch.from_numpy(np.ascontiguousarray(pixels))
            if self.device.type == "cuda":
                batch = batch.pin_memory().to(self.device, non_blocking=True)
            else:
                batch = batch.to(self.device)
            x = batch.permute(0, 3, 1, 2).float().mul_(self._scale).sub_(self._shift)
            features = self._encode_image(x.to(self._param_dtype))
            return _unit_rows(features)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> float32 (N, dim) unit vectors."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with inference(self.device, self.dtype, "embed_texts", len(texts), ErrorCode.EMBED):
            tokens = self._tokenizer(list(texts)).to(self.device)
            return _unit_rows(self._model.encode_text(tokens))

    def bytes_per_image(self) -> int:
        """Device memory one more image in a batch costs (for ``probe_batch_size``).

        On CUDA: the difference in peak memory between batches of 16 and 8
        blank images, so fixed costs (weights, autocast's weight copies)
        cancel out. Elsewhere a rough estimate; only CUDA sizes its batch from it.
        """
        size = self.input_size
        if self.device.type != "cuda":
            return size * size * 3 * 4 * 16
        peaks = []
        for n in (8, 16):
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.embed_images(np.zeros((n, size, size, 3), dtype=np.uint8))
            peaks.append(torch.cuda.max_memory_allocated(self.device))
        return max(1, (peaks[1] - peaks[0]) // 8)


def load_clip(
    model_name: str,
    pretrained: str | None,
    weights: str | None,
    device: str,
    *,
    compile: bool = False,
) -> ClipEmbedder:
    """Build a ``ClipEmbedder`` from the ``[model]`` settings.

    ``model_name``: an open_clip name ("ViT-B-32"), "local-dir:/path", "hf-hub:org/repo",
    or the path of an open_clip model-config JSON file (a custom architecture).
    ``weights``: None = the ``pretrained`` tag from the hub (or what local-dir/hf-hub
    carry); "random" = the same architecture untrained; else a checkpoint file.
    Raises ModelError(MODEL_UNAVAILABLE) naming the settings to change.
    """
    ensure_torchvision_importable()
    import open_clip  # after the torchvision fix

    adopt_library_loggers()  # open_clip imported huggingface_hub, which brings a handler of its own

    torch_device = resolve_device(device)
    name, name_id = _resolve_name(open_clip, model_name)
    is_builtin = not name.startswith(("local-dir:", "hf-hub:"))
    tag_cfg = open_clip.get_pretrained_cfg(name, pretrained) if is_builtin and pretrained else {}

    create: dict[str, Any] = {
        "device": "cpu",  # moved by ClipEmbedder, after loading
        "pretrained_image": False,
        "pretrained_text": False,  # never fetch a tower's base weights behind the user's back
    }
    checkpoint: Path | None = None
    if weights == RANDOM_WEIGHTS:
        create["load_weights"] = False
        model_id = f"{name_id}/random"
    elif weights is not None:
        checkpoint = Path(weights).expanduser()
        if checkpoint.suffix not in WEIGHTS_SUFFIXES or not checkpoint.is_file():
            raise ModelError(f'model.weights = "{weights}" is not a readable {"/".join(WEIGHTS_SUFFIXES)} file')
        create["load_weights"] = False
        model_id = f"{name_id}/file:{_file_sha256(checkpoint)[:12]}"
        if tag_cfg:  # a downloaded copy of a known tag: use that tag's mean/std
            create["force_preprocess_cfg"] = {k: tag_cfg[k] for k in ("mean", "std") if k in tag_cfg}
    elif is_builtin:
        _check_tag(open_clip, name, pretrained)
        create["pretrained"] = pretrained
        model_id = f"{name_id}/{pretrained}"
    else:
        model_id = name_id  # local-dir: and hf-hub: carry their own weights

    where = f"CLIP {model_id}"
    # Said by our own error, or what we asked for: built without weights on purpose
    # (random, or a checkpoint loaded next).
    expected = ["Failed to download weights"]
    if not create.get("load_weights", True):
        expected.append("No pretrained weights loaded")
    hub: AbstractContextManager[HubAccess | None] = (
        hub_or_local_cache() if weights is None and not name.startswith("local-dir:") else nullcontext()
    )
    with hub as access, expected_library_message(*expected):
        try:
            if weights == RANDOM_WEIGHTS:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(RANDOM_SEED)
                    model = open_clip.create_model(name, **create)
            else:
                model = open_clip.create_model(name, **create)
            if checkpoint is not None:
                open_clip.load_checkpoint(model, str(checkpoint))
            tokenizer = open_clip.get_tokenizer(name)
        except ModelError:
            raise
        except Exception as exc:  # open_clip raises RuntimeError/OSError/ValueError alike
            if checkpoint is not None and not isinstance(exc, OSError):
                raise ModelError(f'model.weights = "{checkpoint}" does not fit {name_id}: {first_line(exc)}') from exc
            raise ModelError(
                f"could not load {where}{load_cause(access, exc)}; {_OFFLINE_HINT}",
                code=ErrorCode.MODEL_UNAVAILABLE,
            ) from exc

    random_weights = weights == RANDOM_WEIGHTS
    if random_weights:
        # Info, not a warning: opening the index already warned once (models.random_weights_index).
        log.info(
            "model.random_weights",
            model=where,
            note="UNTRAINED CLIP weights: search results will be meaningless",
        )
    embedder = ClipEmbedder(
        model, tokenizer, torch_device, model_id=model_id, random_weights=random_weights, compile=compile
    )
    log.info(
        "model.loaded",
        model=model_id,
        device=str(torch_device),
        dtype=str(embedder.dtype).removeprefix("torch."),
        dim=embedder.dim,
        input_size=embedder.input_size,
    )
    return embedder


def _resolve_name(open_clip: ModuleType, model_name: str) -> tuple[str, str]:
    """(name open_clip knows, stable name for the model id)."""
    if model_name.startswith("local-dir:"):
        folder = Path(model_name.removeprefix("local-dir:")).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise ModelError(
                f'model.clip = "{model_name}": no open_clip_config.json in {folder}',
                code=ErrorCode.MODEL_UNAVAILABLE,
            )
        return f"local-dir:{folder}", f"local-dir:{folder.name}"
    if model_name.startswith("hf-hub:"):
        return model_name, model_name
    if model_name.endswith(".json") or Path(model_name).expanduser().is_file():
        return _register_config(open_clip, Path(model_name).expanduser())
    if model_name not in open_clip.list_models():
        raise ModelError(
            f'model.clip = "{model_name}" is not an open_clip model name '
            "(see open_clip.list_models()), a local-dir: folder or a model-config JSON file"
        )
    return model_name, model_name


def _register_config(open_clip: ModuleType, path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
        config = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ModelError(f'model.clip = "{path}": cannot read model config: {exc}') from exc
    if not all(key in config for key in ("embed_dim", "vision_cfg", "text_cfg")):
        raise ModelError(f'model.clip = "{path}": a model config needs "embed_dim", "vision_cfg" and "text_cfg"')
    if open_clip.get_model_config(path.stem) != config:
        open_clip.add_model_config(path)  # registered under the file's stem
    # The config's content is part of the id: editing the architecture must
    # not reuse a collection built by the old one.
    return path.stem, f"{path.stem}@{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _check_tag(open_clip: ModuleType, name: str, pretrained: str | None) -> None:
    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained is None or pretrained not in tags:
        raise ModelError(
            f'model.pretrained = "{pretrained}" is not a pretrained tag of {name} '
            f'(known: {", ".join(tags) or "none"}); set model.weights to a file or "random" instead'
        )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _square_side(size: int | tuple[int, int]) -> int:
    if isinstance(size, int):
        return size
    height, width = size
    if height != width:
        raise ModelError(f"model input must be square, this one is {height}x{width}")
    return int(height)


def _unit_rows(features: torch.Tensor) -> np.ndarray:
    return F.normalize(features.float(), dim=-1).cpu().numpy()


__all__ = [
    "DEFAULT_CLIP_MODEL",
    "DEFAULT_CLIP_PRETRAINED",
    "RANDOM_WEIGHTS",
    "ClipEmbedder",
    "ImageEmbedder",
    "load_clip",
]
