"""Describe photos in a short sentence (BLIP via transformers).

``Captioner`` is what the pipeline depends on; ``BlipCaptioner`` implements
it on an already-built ``BlipForConditionalGeneration`` and tokenizer, and
``load_blip`` builds one from the ``[model]`` settings: a hub name or a local
directory saved with ``save_pretrained``, or deterministic random weights of
the same architecture for tests and benchmarks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import structlog
import torch

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.device import dtype_for, inference, resolve_device
from photoindex.indexer.models.hub import HubAccess, hub_or_local_cache
from photoindex.indexer.models.load_errors import load_cause
from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable
from photoindex.logs import adopt_library_loggers

DEFAULT_CAPTION_MODEL = "Salesforce/blip-image-captioning-base"
RANDOM_WEIGHTS = "random"
RANDOM_SEED = 0  # random captioners are reproducible, like random embedders

# BLIP's image statistics (OpenAI CLIP's), used unless the model folder's
# preprocessor_config.json says otherwise.
BLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
BLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# Captions of everyday photos fit in ~20 word pieces; 30 leaves room
# without letting an untrained model ramble for long.
MAX_NEW_TOKENS = 30

_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")

_OFFLINE_HINT = (
    'to use a copy on this machine, set model.caption_model = "/local/dir" '
    "(a folder saved by save_pretrained: config.json, weights, tokenizer files), "
    'or model.captions = "off"'
)

log = structlog.get_logger(__name__)


@runtime_checkable
class Captioner(Protocol):
    """Writes one short description per image."""

    model_id: str
    input_size: int  # square side, in pixels, that caption expects
    random_weights: bool  # True: untrained weights, the captions mean nothing

    def caption(self, pixels: np.ndarray) -> list[str]:
        """uint8 (N, S, S, 3), the whole image squash-resized to S = input_size -> N captions."""
        ...


class BlipCaptioner:
    """A ``Captioner`` on a BLIP captioning model that the caller has built.

    Greedy decoding by default (``num_beams=1``); on CUDA under fp16 autocast.
    Pixels are normalised on the device.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        device: torch.device,
        *,
        model_id: str,
        random_weights: bool = False,
        dtype: torch.dtype | None = None,
        mean: Sequence[float] = BLIP_MEAN,
        std: Sequence[float] = BLIP_STD,
        max_new_tokens: int = MAX_NEW_TOKENS,
        num_beams: int = 1,
    ) -> None:
        self.model_id = model_id
        self.random_weights = random_weights
        self.device = device
        self.dtype = dtype if dtype is not None else dtype_for(device)
        self._model = model.to(device).eval()
        self._tokenizer = tokenizer
        self._max_new_tokens = max_new_tokens
        self._num_beams = num_beams
        size = model.config.vision_config.image_size
        self.input_size = int(size if isinstance(size, int) else size[0])
        mean_t = torch.tensor(mean, dtype=torch.float32, device=device)
        std_t = torch.tensor(std, dtype=torch.float32, device=device)
        self._scale = (1.0 / (255.0 * std_t)).view(1, 3, 1, 1)
        self._shift = (mean_t / std_t).view(1, 3, 1, 1)
        self._param_dtype = next(self._model.parameters()).dtype

    def caption(self, pixels: np.ndarray) -> list[str]:
        """uint8 (N, S, S, 3) -> N captions (lower case, as BLIP writes them)."""
        size = self.input_size
        if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[1:] != (size, size, 3):
            raise ValueError(
                f"expected uint8 pixels of shape (N, {size}, {size}, 3), got {pixels.dtype} {pixels.shape}"
            )
        if len(pixels) == 0:
            return []
        with inference(self.device, self.dtype, "caption", len(pixels), ErrorCode.CAPTION):
            batch = torch.from_numpy(np.ascontiguousarray(pixels))
            if self.device.type == "cuda":
                batch = batch.pin_memory().to(self.device, non_blocking=True)
            else:
                batch = batch.to(self.device)
            x = batch.permute(0, 3, 1, 2).float().mul_(self._scale).sub_(self._shift)
            ids = self._model.generate(
                pixel_values=x.to(self._param_dtype),
                max_new_tokens=self._max_new_tokens,
                num_beams=self._num_beams,
                do_sample=False,
            )
        texts = self._tokenizer.batch_decode(ids.cpu(), skip_special_tokens=True)
        return [" ".join(text.split()) for text in texts]


def load_blip(
    name_or_dir: str,
    weights: str | None,
    device: str,
    *,
    max_new_tokens: int = MAX_NEW_TOKENS,
    num_beams: int = 1,
    quantize: str = "none",
) -> BlipCaptioner:
    """Build a ``BlipCaptioner`` from a hub name or a local ``save_pretrained`` folder.

    ``weights``: None = the trained weights from ``name_or_dir``; "random" = the
    same architecture untrained (a folder holding only config.json is enough).
    ``quantize="int8"``: every Linear layer gets int8 weights (CPU only).
    Raises ModelError(MODEL_UNAVAILABLE) naming the settings to change.
    """
    if weights not in (None, RANDOM_WEIGHTS):
        raise ModelError(f"caption weights {weights!r}: give the captioner a folder with model.caption_model instead")
    ensure_torchvision_importable()
    from transformers import AutoTokenizer, BlipConfig, BlipForConditionalGeneration

    adopt_library_loggers()  # transformers and huggingface_hub bring handlers of their own

    torch_device = resolve_device(device)
    folder = Path(name_or_dir).expanduser()
    is_dir = folder.is_dir()
    source = str(folder) if is_dir else name_or_dir
    name_id = f"local-dir:{folder.name}" if is_dir else name_or_dir
    random_weights = weights == RANDOM_WEIGHTS
    model_id = f"{name_id}/random" if random_weights else name_id
    where = f"caption model {name_or_dir!r}"
    hub: AbstractContextManager[HubAccess | None] = nullcontext() if is_dir else hub_or_local_cache()
    with hub as access, _no_loading_bar(is_dir):
        try:
            if random_weights:
                config = _random_config(BlipConfig, source, is_dir)
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(RANDOM_SEED)
                    model = BlipForConditionalGeneration(config)
            else:
                model = BlipForConditionalGeneration.from_pretrained(source)
        except ModelError:
            raise
        except Exception as exc:  # OSError offline; ValueError/EnvironmentError for a broken folder
            raise ModelError(
                f"could not load {where}{load_cause(access, exc)}; {_OFFLINE_HINT}", code=ErrorCode.MODEL_UNAVAILABLE
            ) from exc

        text_config: Any = model.config.text_config
        tokenizer_error: Exception | None = None
        try:
            tokenizer = _load_tokenizer(AutoTokenizer, source, folder if is_dir else None, text_config)
        except Exception as exc:
            if not random_weights:
                raise ModelError(
                    f"could not load the tokenizer of {where}{load_cause(access, exc)}; {_OFFLINE_HINT}",
                    code=ErrorCode.MODEL_UNAVAILABLE,
                ) from exc
            tokenizer_error = exc
    if tokenizer_error is not None:
        tokenizer = synthetic_tokenizer(text_config)
        log.warning(
            "model.synthetic_tokenizer",
            model=model_id,
            vocab_size=text_config.vocab_size,
            note="no tokenizer files offline: captions will be made-up word pieces",
        )

    if random_weights:
        # Info: opening the index already warned once that it holds untrained models' output.
        log.info("model.random_weights", model=model_id, note="UNTRAINED BLIP weights: captions are nonsense")
    if quantize == "int8":
        if torch_device.type != "cpu":
            raise ModelError(f'model.quantize = "int8" quantizes the captioner for a CPU, not {torch_device}')
        quantize_linear_layers(model)
        model_id += "+int8"
    mean, std = _image_stats(folder) if is_dir else (BLIP_MEAN, BLIP_STD)
    captioner = BlipCaptioner(
        model,
        tokenizer,
        torch_device,
        model_id=model_id,
        random_weights=random_weights,
        mean=mean,
        std=std,
        max_new_tokens=max_new_tokens,
        num_beams=num_beams,
    )
    log.info(
        "model.loaded",
        model=model_id,
        device=str(torch_device),
        dtype=str(captioner.dtype).removeprefix("torch."),
        input_size=captioner.input_size,
    )
    return captioner


def quantize_linear_layers(model: Any) -> Any:
    """Give BLIP's Linear layers int8 weights (dynamic quantization: activations stay float), in place.

    Captioning is dozens of decoder steps per image, each a chain of small
    matrix products bound by weight memory traffic, which int8 weights
    quarter; the vision encoder (once per image, 577 tokens at 384 px) is a
    fifth of the time. Measured on BLIP-base, one image at a time: decoder only
    0.59-0.68× the fp32 time on an Intel Xeon VM, all Linear layers 0.50-0.56×
    there and 0.35× on an AMD EPYC VM (bench/backends.py; README, "Inference
    backends").
    """
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch 2.13 marks its quantized tensor types deprecated (torchao is the successor); they
        # still run, and torchao is not a dependency of ours.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return quantize_dynamic(  # type: ignore[no-untyped-call]
            model.eval(), {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )


def synthetic_tokenizer(text_config: Any) -> Any:
    """A BERT word-piece tokenizer whose ids fit ``text_config`` (vocab size and special ids).

    For untrained models only: the vocabulary is placeholders ("w17"), so it
    decodes ids into tokens but says nothing.
    """
    from transformers import BertTokenizer

    vocab_size = int(text_config.vocab_size)
    special = {
        int(text_config.pad_token_id or 0): "[PAD]",
        int(text_config.sep_token_id): "[SEP]",
        int(text_config.bos_token_id): "[DEC]",
    }
    names = [special.get(i, f"w{i}") for i in range(vocab_size)]
    # BERT's other specials take the first free placeholder slots.
    free = (i for i in range(vocab_size) if i not in special)
    for token in ("[UNK]", "[CLS]", "[MASK]", "[ENC]"):
        names[next(free)] = token
    return BertTokenizer(
        vocab={name: i for i, name in enumerate(names)},
        bos_token="[DEC]",
        additional_special_tokens=["[ENC]"],
    )


def _load_tokenizer(auto_tokenizer: Any, source: str, folder: Path | None, text_config: Any) -> Any:
    if folder is not None and not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise OSError(f"no tokenizer files ({', '.join(_TOKENIZER_FILES)}) in {folder}")
    tokenizer = auto_tokenizer.from_pretrained(source)
    # transformers builds an empty tokenizer from config.json alone; that one
    # would decode every id as [UNK].
    if len(tokenizer) < text_config.vocab_size // 2:
        raise OSError(f"the tokenizer has {len(tokenizer)} tokens for a vocabulary of {text_config.vocab_size}")
    return tokenizer


@contextmanager
def _no_loading_bar(local: bool) -> Iterator[None]:
    """Inside, for a local folder: no "Loading weights" bar of transformers' own under ours.

    From the hub, bars stay: a first download is worth watching.
    """
    from transformers.utils import logging as transformers_logging

    shown = transformers_logging.is_progress_bar_enabled()
    if local and shown:
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if local and shown:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _random_config(blip_config: Any, source: str, is_dir: bool) -> Any:
    """The architecture for random weights: the folder's or hub's config.json, else BLIP-base."""
    try:
        return blip_config.from_pretrained(source)
    except OSError:
        if is_dir or source != DEFAULT_CAPTION_MODEL:
            raise
    # Offline with no cached config: BlipConfig's defaults are the base
    # captioning checkpoint's architecture (ViT-B/16 at 384 px, 12-layer
    # BERT decoder) except for the decoder's 12 attention heads.
    log.warning("model.default_config", model=source, note="no config.json offline; using BLIP-base architecture")
    return blip_config(text_config={"num_attention_heads": 12})


def _image_stats(folder: Path) -> tuple[Sequence[float], Sequence[float]]:
    try:
        cfg = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return BLIP_MEAN, BLIP_STD
    return cfg.get("image_mean", BLIP_MEAN), cfg.get("image_std", BLIP_STD)


__all__ = [
    "DEFAULT_CAPTION_MODEL",
    "RANDOM_WEIGHTS",
    "BlipCaptioner",
    "Captioner",
    "load_blip",
    "quantize_linear_layers",
    "synthetic_tokenizer",
]
