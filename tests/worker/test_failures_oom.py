"""Allocation failures map to out_of_memory whichever library raised them (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.settings import Settings
from worker.training_process.failures import describe_failure

SPEC = {"batch_size": 512}
GIB = 2**30


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        RuntimeError("CUDA error: out of memory\\nCUDA kernel errors might be asynchronously"),
        MemoryError(),
    ],
)
def test_allocation_failures_are_out_of_memory(error: BaseException, tmp_path: Path) -> None:
    failure = describe_failure(error, config=None, settings=_settings(tmp_path), spec=SPEC)
    assert failure.code == "out_of_memory"
    assert "batch_size 512" in failure.message
    assert "CUBLAS" not in failure.message and "cuDNN" not in failure.message  # no internals


@pytest.mark.parametrize(
    ("others_gib", "says"), [(6, "shared: other processes held 6.0"), (0, "not shared")]
)
def test_out_of_memory_says_whether_the_gpu_was_shared(
    others_gib: int, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a GPU would answer: 80 GiB in all, this process 70 GiB reserved, others the rest."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    free = (10 - others_gib) * GIB
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (free, 80 * GIB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda: 70 * GIB)
    error = RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED")
    message = describe_failure(error, config=None, settings=_settings(tmp_path), spec=SPEC).message
    assert says in message


def test_other_runtime_errors_stay_internal(tmp_path: Path) -> None:
    error = RuntimeError("Expected all tensors to be on the same device")
    failure = describe_failure(error, config=None, settings=_settings(tmp_path), spec=SPEC)
    assert failure.code == "internal_error"
