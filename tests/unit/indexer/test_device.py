"""Device, dtype and batch-size choices."""

from __future__ import annotations

import pytest
import torch

from photoindex.errors import ModelError
from photoindex.indexer.models.device import (
    CPU_BATCH,
    MAX_CUDA_BATCH,
    MIN_CUDA_BATCH,
    dtype_for,
    probe_batch_size,
    resolve_device,
)

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_auto_prefers_cuda_then_mps_then_cpu() -> None:
    device = resolve_device("auto")
    if torch.cuda.is_available():
        assert device.type == "cuda"
    elif torch.backends.mps.is_available():
        assert device.type == "mps"
    else:
        assert device == torch.device("cpu")


def test_cpu_is_always_there_whatever_the_case() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


@no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_asking_for_cuda_without_one_says_so(name: str) -> None:
    with pytest.raises(ModelError, match="no CUDA GPU") as caught:
        resolve_device(name)
    assert "model.device" in caught.value.message


@needs_cuda
def test_a_cuda_index_past_the_last_gpu_is_refused() -> None:
    with pytest.raises(ModelError, match="CUDA GPU"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda:x", ""])
def test_unknown_device_names_are_refused(name: str) -> None:
    with pytest.raises(ModelError, match="is not a device"):
        resolve_device(name)


def test_dtypes_half_on_cuda_single_elsewhere() -> None:
    assert dtype_for(torch.device("cuda")) == torch.float16
    assert dtype_for(torch.device("cpu")) == torch.float32
    assert dtype_for(torch.device("mps")) == torch.float32


def test_a_configured_batch_size_wins() -> None:
    assert probe_batch_size(torch.device("cpu"), 1 << 20, configured=3) == 3
    assert probe_batch_size(torch.device("cuda"), 1 << 20, configured=1000) == 1000


def test_cpu_batch_default() -> None:
    assert probe_batch_size(torch.device("cpu"), 1 << 20) == CPU_BATCH == 16


@needs_cuda
def test_cuda_batch_comes_from_free_memory_within_bounds() -> None:
    device = torch.device("cuda")
    assert probe_batch_size(device, 1) == MAX_CUDA_BATCH
    free, _total = torch.cuda.mem_get_info(device)
    assert probe_batch_size(device, free * 10) == MIN_CUDA_BATCH
    assert MIN_CUDA_BATCH <= probe_batch_size(device, 4 << 20) <= MAX_CUDA_BATCH
