"""Run CLIP's image and text towers in ONNX Runtime on the CPU.

The towers are exported once from the loaded open_clip model (so every way
``load_clip`` finds weights works here too) and cached as ONNX files under
the cache dir, named by the model id and a hash of the weights: a changed
checkpoint under the same name is exported again, and the stale files go.
Pixel normalisation and the final L2 normalisation are part of the graphs,
so a batch crosses into ORT once as uint8 and comes back as unit vectors.

Why ORT: its dynamic int8 MatMuls run CLIP's image tower 3.3× as fast as
torch fp32 on a CPU, and its text tower answers a query in 0.6-0.74 of the
time; fp32 images run at torch's rate. Its thread pool's idle threads do
not spin (``allow_spinning = 0``), which leaves the cores to the decode
processes, as ``OMP_WAIT_POLICY=PASSIVE`` does for torch. Measured
figures: README, "Inference backends".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import structlog
import torch
import torch.nn.functional as F

from photoindex.errors import ErrorCode, ModelError

if TYPE_CHECKING:
    from onnxruntime import InferenceSession, SessionOptions

    from photoindex.indexer.models.embedder import ClipEmbedder

INT8_SUFFIX = "+int8"
# ONNX opset 17 has LayerNormalization as one op, which ORT fuses; every ORT >= 1.14 runs it.
OPSET = 17

log = structlog.get_logger(__name__)


class _ImageTower(torch.nn.Module):
    """uint8 (N, S, S, 3) -> unit float32 (N, dim): the whole image path as one graph."""

    scale: torch.Tensor  # registered buffers, (1, 3, 1, 1): exported as graph constants
    shift: torch.Tensor

    def __init__(self, clip: ClipEmbedder) -> None:
        super().__init__()
        self.model = clip.model
        scale, shift = clip.normalisation
        self.register_buffer("scale", scale.cpu())
        self.register_buffer("shift", shift.cpu())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float() * self.scale - self.shift
        return F.normalize(self.model.encode_image(x), dim=-1)


class _TextTower(torch.nn.Module):
    """int64 tokens (N, context) -> unit float32 (N, dim)."""

    def __init__(self, clip: ClipEmbedder) -> None:
        super().__init__()
        self.model = clip.model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.model.encode_text(tokens), dim=-1)


class OnnxClipEmbedder:
    """An ``ImageEmbedder`` on two ONNX Runtime sessions (CPU execution provider).

    Built by ``from_clip`` from a torch ``ClipEmbedder``; the torch model is not
    kept. With ``quantize="int8"`` the image tower's weights are int8
    (dynamic quantization of its MatMuls): its vectors differ from fp32 ones
    more than rounding does, so its model id (and collection) differ.
    """

    def __init__(
        self,
        image_session: InferenceSession,
        text_session: InferenceSession,
        tokenizer: Callable[[list[str]], torch.Tensor],
        *,
        model_id: str,
        dim: int,
        input_size: int,
        random_weights: bool,
    ) -> None:
        self.model_id = model_id
        self.dim = dim
        self.input_size = input_size
        self.random_weights = random_weights
        self.device = torch.device("cpu")  # what the capabilities endpoint and batch sizing read
        self.backend = "onnx"
        self._image = image_session
        self._text = text_session
        self._tokenizer = tokenizer

    @classmethod
    def from_clip(
        cls, clip: ClipEmbedder, cache_dir: Path, *, quantize: str = "none", threads: int | None = None
    ) -> OnnxClipEmbedder:
        """Export (or reuse the cached export of) ``clip``'s towers and open them in ORT."""
        if clip.device.type != "cpu":
            raise ModelError(f"the ONNX backend exports from a CPU model, this one is on {clip.device}")
        folder = cache_dir / "onnx"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = f"{_slug(clip.model_id)}-{weights_digest(clip.model)[:16]}"
        size = clip.input_size
        context = int(getattr(clip.model, "context_length", 77))
        options = session_options(threads)
        image_fp32 = folder / f"{stem}-image.onnx"

        def export_image(path: Path) -> None:
            _export(path, _ImageTower(clip), torch.zeros((2, size, size, 3), dtype=torch.uint8), "pixels")

        def export_text(path: Path) -> None:
            _export(path, _TextTower(clip), torch.zeros((2, context), dtype=torch.long), "tokens")

        def quantize_image(path: Path) -> None:
            if not image_fp32.is_file():
                export_image(image_fp32)
            _quantize(image_fp32, path)

        if quantize == "int8":
            image_path, image = _cached(folder / f"{stem}-image-int8.onnx", quantize_image, options)
        else:
            image_path, image = _cached(image_fp32, export_image, options)
        _, text = _cached(folder / f"{stem}-text.onnx", export_text, options)
        _remove_stale(folder, _slug(clip.model_id), stem)
        model_id = clip.model_id + (INT8_SUFFIX if quantize == "int8" else "")
        embedder = cls(
            image,
            text,
            clip.tokenizer,
            model_id=model_id,
            dim=clip.dim,
            input_size=size,
            random_weights=clip.random_weights,
        )
        log.info("model.onnx_ready", model=model_id, image=image_path.name, threads=options.intra_op_num_threads)
        return embedder

    def embed_images(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) -> float32 (N, dim) unit vectors."""
        size = self.input_size
        if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[1:] != (size, size, 3):
            raise ValueError(
                f"expected uint8 pixels of shape (N, {size}, {size}, 3), got {pixels.dtype} {pixels.shape}"
            )
        if len(pixels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._run(self._image, {"pixels": np.ascontiguousarray(pixels)}, "embed_images", len(pixels))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> float32 (N, dim) unit vectors."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokens = self._tokenizer(list(texts)).numpy().astype(np.int64, copy=False)
        return self._run(self._text, {"tokens": tokens}, "embed_texts", len(texts))

    def _run(self, session: InferenceSession, feeds: dict[str, np.ndarray], what: str, n: int) -> np.ndarray:
        try:
            (out,) = session.run(None, feeds)
        except Exception as exc:  # onnxruntime raises its own exception types, not exported stably
            raise ModelError(f"{what} failed on a batch of {n}: {exc}", code=ErrorCode.EMBED) from exc
        return np.asarray(out, dtype=np.float32)


def session_options(threads: int | None) -> SessionOptions:
    """ORT options for a model worker that shares the cores with decode processes.

    ``threads``: intra-op threads; None = one per core (measured against one
    thread in bench/backends.py). Idle pool threads sleep instead of spinning.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initializers are not the user's concern
    return options


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over the parameter and buffer names and bytes (~0.5 s for ViT-B-32's 600 MB)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().data if flat.numel() else b"")
    return digest.hexdigest()


def _cached(path: Path, build: Callable[[Path], None], options: SessionOptions) -> tuple[Path, InferenceSession]:
    """An ORT session on ``path``, built first when missing or unreadable (damaged, or from an older ORT)."""
    if path.is_file():
        try:
            return path, _open_session(path, options)
        except Exception:  # ORT raises its own unexported exception types
            log.warning("model.onnx_cache_unreadable", file=path.name, detail="exporting it again")
    build(path)
    return path, _open_session(path, options)


def _export(path: Path, tower: torch.nn.Module, example: torch.Tensor, input_name: str) -> None:
    """Export ``tower`` to ``path`` through a temporary file: a crash never leaves a truncated cache file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with torch.inference_mode(False), torch.no_grad(), _quiet_exporter():
            torch.onnx.export(
                tower.eval(),
                (example,),
                str(tmp),
                input_names=[input_name],
                output_names=["vectors"],
                dynamic_axes={input_name: {0: "batch"}, "vectors": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(tmp, path)
    except Exception as exc:
        raise ModelError(
            f"could not export CLIP to ONNX ({path.name}): {exc}", code=ErrorCode.MODEL_UNAVAILABLE
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("model.onnx_exported", file=path.name, mb=round(path.stat().st_size / 1e6, 1))


def _quantize(fp32: Path, path: Path) -> None:
    """Write the int8 twin of an exported tower: dynamic quantization, per-channel int8 MatMul weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to "run pre-processing" goes to the root logger
    try:
        quantize_dynamic(
            str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
        )
        os.replace(tmp, path)
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)
    log.info("model.onnx_quantized", file=path.name, mb=round(path.stat().st_size / 1e6, 1))


def _open_session(path: Path, options: SessionOptions) -> InferenceSession:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _remove_stale(folder: Path, model_slug: str, stem: str) -> None:
    """Exports of this model id from other weights (or left-over temp files) are not needed again."""
    for old in folder.glob(f"{model_slug}-*.onnx"):
        if not old.name.startswith(stem + "-") and re.fullmatch(
            rf"{re.escape(model_slug)}-[0-9a-f]{{16}}-.*", old.name
        ):
            with contextlib.suppress(OSError):
                old.unlink()


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Export with plain attention ops, quietly.

    nn.MultiheadAttention's inference fast path is one fused aten op that
    ONNX has no symbol for; turned off, attention exports as MatMul/Softmax,
    which ORT fuses again. The TorchScript exporter warns about the Python
    shape checks open_clip traces through; those are not the user's concern.
    """
    import warnings

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _slug(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", model_id).strip("_")[:80]


__all__ = ["INT8_SUFFIX", "OnnxClipEmbedder", "session_options", "weights_digest"]
