"""Choose the torch device, the compute dtype and the batch size for the models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from photoindex.errors import ErrorCode, ModelError

_EXPLICIT = re.compile(r"^(cpu|mps|cuda(?::(\d+))?)$")

# Batch limits on CUDA. Below 8 a GPU mostly waits on kernel launches; the
# upper cap bounds the latency of one batch (and how many photos wait on a
# slow one) once a batch is far past what keeps the GPU busy.
MIN_CUDA_BATCH = 8
MAX_CUDA_BATCH = 512

# CLIP ViT-B-32 in fp32 on 2 CPU threads embeds ~21 images/s (preprocessed
# pixels in, vectors out) at any batch size from 8 to 32; 16 keeps one batch
# under a second.
CPU_BATCH = 16

# Share of the free GPU memory one batch may use: the rest is left for the
# captioner, the allocator's fragmentation and other processes.
_CUDA_MEMORY_SHARE = 0.5


def resolve_device(name: str) -> torch.device:
    """Turn a ``model.device`` setting (auto, cpu, cuda, cuda:N, mps) into a usable device.

    "auto" picks CUDA, then Apple's MPS, then the CPU. An explicit device that
    this machine does not have raises ModelError.
    """
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    match = _EXPLICIT.match(name)
    if match is None:
        raise ModelError(f'model.device = "{name}" is not a device; use "auto", "cpu", "cuda", "cuda:N" or "mps"')
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError(
                f'model.device = "{name}" but torch sees no CUDA GPU '
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'}); "
                'use model.device = "auto" or "cpu", or install a CUDA build of torch'
            )
        index = match.group(2)
        count = torch.cuda.device_count()
        if index is not None and int(index) >= count:
            raise ModelError(
                f'model.device = "{name}" but this machine has {count} CUDA GPU(s) (cuda:0..cuda:{count - 1})'
            )
    if name == "mps" and not _mps_available():
        raise ModelError('model.device = "mps" but Metal (MPS) is not available; use "auto" or "cpu"')
    return torch.device(name)


def dtype_for(device: torch.device) -> torch.dtype:
    """The dtype models compute in on ``device``."""
    if device.type == "cuda":
        # fp16 halves memory and runs on tensor cores on every CUDA GPU
        # torch supports; CLIP and BLIP were trained in mixed precision.
        return torch.float16
    # CPU: fp32. bf16 is 5-10x slower than fp32 on CPUs without native bf16
    # units (most laptops, older servers), and fp16 matmuls on CPU are slower
    # still. (Where the CPU has them, e.g. avx512_bf16, bf16 can be several
    # times faster; that is left to an explicit choice, not guessed here.)
    # MPS: fp32. fp16 on Metal is faster but has had operator gaps and
    # numerical differences across macOS/torch versions, and it has not been
    # measured here; correctness first.
    return torch.float32


def probe_batch_size(device: torch.device, per_image_bytes: int, configured: int = 0) -> int:
    """Images per model batch: ``configured`` when > 0, else a default for ``device``.

    On CUDA the default comes from the free memory now, divided by
    ``per_image_bytes`` (the peak memory one more image in a batch costs),
    clamped to [MIN_CUDA_BATCH, MAX_CUDA_BATCH].
    """
    if configured > 0:
        return configured
    if device.type != "cuda":
        return CPU_BATCH
    if per_image_bytes <= 0:
        raise ValueError(f"per_image_bytes must be positive, got {per_image_bytes}")
    free, _total = torch.cuda.mem_get_info(device)
    fits = int(free * _CUDA_MEMORY_SHARE) // per_image_bytes
    return max(MIN_CUDA_BATCH, min(MAX_CUDA_BATCH, fits))


@contextmanager
def inference(device: torch.device, dtype: torch.dtype, what: str, n: int, code: ErrorCode) -> Iterator[None]:
    """inference_mode + autocast for one model call; device failures become ModelError(``code``)."""
    autocast = torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype != torch.float32)
    try:
        with torch.inference_mode(), autocast:
            yield
    except torch.OutOfMemoryError as exc:
        raise ModelError(
            f"{what}: out of device memory at a batch of {n}; set model.batch_size lower", code=code
        ) from exc
    except RuntimeError as exc:
        raise ModelError(f"{what} failed on a batch of {n}: {exc}", code=code) from exc


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


__all__ = [
    "CPU_BATCH",
    "MAX_CUDA_BATCH",
    "MIN_CUDA_BATCH",
    "dtype_for",
    "inference",
    "probe_batch_size",
    "resolve_device",
]
