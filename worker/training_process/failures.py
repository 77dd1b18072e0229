"""Why a training run failed, as an error code and a message its owner can act on.

The owner reads the message through the API, so it never carries an exception's own text (SQL,
parameters, host names) or a path on the worker's disk: those go to the worker's log under a
reference id that the message quotes, for the operator to look up.
"""

from __future__ import annotations

import uuid
from typing import Any

import torch

from core.cifar_layout import LAYOUTS, archive_name, expected_files
from core.settings import Settings
from core.spec import ResolvedSpec, TrainConfig
from core.trainer.errors import (
    DatasetNotFoundError,
    IncompatibleWeightsError,
    TrainingDivergedError,
)

DATASET_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"


class Failure(Exception):
    """A failure already described: `code` goes to jobs.error_code, `message` to the owner.

    `detail`, when set, is what the owner must not see (the error's own text, paths on the
    worker); it is logged under `ref`, which the message names.
    """

    def __init__(self, code: str, message: str, *, detail: str | None = None) -> None:
        self.ref = new_ref() if detail is not None else None
        if self.ref is not None:
            message = f"{message} (ref {self.ref}: the details are in the worker's log)"
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail


class InitFromUnusable(Exception):
    """The job named in `init_from` has no weights to start from (a message for the owner)."""


def new_ref() -> str:
    """A short id that ties an owner's error message to the worker's log lines."""
    return uuid.uuid4().hex[:12]


# How cuDNN, cuBLAS and the CUDA runtime word an allocation failure that does not arrive as
# torch.cuda.OutOfMemoryError (a RuntimeError raised inside a library call).
GPU_ALLOCATION_FAILURES = (
    "CUDNN_STATUS_ALLOC_FAILED",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_NOT_ENOUGH_WORKSPACE",
    "CUDA error: out of memory",
    "cudaErrorMemoryAllocation",
    "CUFFT_ALLOC_FAILED",
)


def out_of_memory(error: BaseException) -> bool:
    """An allocation failure of the host or of the GPU, whichever library raised it."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(s in text for s in GPU_ALLOCATION_FAILURES)


# Memory on the GPU that is neither free nor this process's own, above which the GPU counts as
# shared with other processes (the CUDA context itself takes a few hundred MiB).
SHARED_ABOVE_BYTES = 1 << 30


def gpu_sharing() -> str:
    """Whether other processes held memory on this process's GPU when it ran out (issue 13)."""
    if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
        return ""
    free, total = torch.cuda.mem_get_info()
    others = total - free - torch.cuda.memory_reserved()
    if others > SHARED_ABOVE_BYTES:
        return f"; the GPU was shared: other processes held {others / 2**30:.1f} GiB of it"
    return "; the GPU was not shared with other processes"


def describe_failure(
    error: BaseException, *, config: TrainConfig | None, settings: Settings, spec: dict[str, Any]
) -> Failure:
    if isinstance(error, Failure):
        return error
    detail = f"{type(error).__name__}: {error}"
    resolved = ResolvedSpec.from_stored(spec)
    if isinstance(error, DatasetNotFoundError):
        dataset = resolved.dataset
        files = ", ".join(expected_files(dataset)) if dataset in LAYOUTS else dataset
        how = (
            "the download failed; the worker's network needs checking"
            if settings.download_datasets
            else "or set DOWNLOAD_DATASETS=true to let the worker fetch it"
        )
        return Failure(
            "dataset_missing",
            f"the worker has no {dataset} dataset: the service's operator must extract the "
            f"python version from {DATASET_PAGE} ({files}), or put its archive "
            f"{archive_name(dataset) if dataset in LAYOUTS else ''}, into the worker's DATA_DIR, "
            f"{how}",
            detail=f"{detail} (DATA_DIR is {settings.data_dir.resolve()})",
        )
    if isinstance(error, InitFromUnusable):
        # Our own words, with no path in them.
        return Failure(
            "init_from_unusable",
            f"cannot start from job {resolved.init_from}: {error}",
        )
    if isinstance(error, IncompatibleWeightsError):
        return Failure(
            "init_from_unusable",
            f"cannot start from the weights of job {resolved.init_from}: they do not fit "
            "this network. Use a succeeded job with the same architecture, depth and shortcut",
            detail=detail,
        )
    if out_of_memory(error):
        batch = config.batch_size if config is not None else resolved.batch_size
        where = "" if isinstance(error, MemoryError) else gpu_sharing()
        return Failure(
            "out_of_memory",
            f"the worker ran out of memory training with batch_size {batch}{where}; "
            "submit again with a smaller batch_size",
            detail=detail,
        )
    if isinstance(error, TrainingDivergedError):
        # The trainer's own words about the loss ("loss is nan at batch 3"): no internals.
        rate = config.learning_rate if config is not None else resolved.learning_rate
        return Failure(
            "diverged",
            f"training diverged ({error}); the learning rate {rate} is probably too high for "
            "this network: submit again with a smaller learning_rate",
        )
    return Failure(
        "internal_error",
        f"training stopped on an unexpected error ({type(error).__name__}) in the service; "
        "submitting again may work, and the service's operator can look it up",
        detail=detail,
    )
