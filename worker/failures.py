"""Why a training run failed, as an error code and a message its owner can act on."""

from __future__ import annotations

from typing import Any

import torch

from core.settings import Settings
from core.trainer import (
    DatasetNotFoundError,
    IncompatibleWeightsError,
    TrainConfig,
    TrainingDivergedError,
)

DATASET_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
DATASET_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"


class Failure(Exception):
    """A failure already described: `code` goes to jobs.error_code, `message` to the owner."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InitFromUnusable(Exception):
    """The job named in `init_from` has no weights to start from."""


def describe_failure(
    error: BaseException, *, config: TrainConfig | None, settings: Settings, spec: dict[str, Any]
) -> Failure:
    if isinstance(error, Failure):
        return error
    if isinstance(error, DatasetNotFoundError):
        dataset = spec.get("dataset", "cifar10")
        folder = DATASET_FOLDERS.get(dataset, dataset)
        how = (
            "the download failed; check the worker's network"
            if settings.download_datasets
            else "set DOWNLOAD_DATASETS=true to let the worker fetch it"
        )
        return Failure(
            "dataset_missing",
            f"{error}. The worker reads {dataset} from {settings.data_dir.resolve() / folder}: "
            f"extract the python version from {DATASET_PAGE} into "
            f"{settings.data_dir.resolve()} on the worker, or {how}",
        )
    if isinstance(error, IncompatibleWeightsError | InitFromUnusable):
        return Failure(
            "init_from_unusable",
            f"cannot start from the weights of job {spec.get('init_from')}: {error}. Use a "
            "succeeded job with the same architecture, depth and shortcut",
        )
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        batch = config.batch_size if config is not None else spec.get("batch_size")
        return Failure(
            "out_of_memory",
            f"the worker ran out of memory training with batch_size {batch} ({error}); "
            "submit again with a smaller batch_size",
        )
    if isinstance(error, TrainingDivergedError):
        rate = config.learning_rate if config is not None else spec.get("learning_rate")
        return Failure(
            "diverged",
            f"training diverged ({error}); the learning rate {rate} is probably too high for "
            "this network: submit again with a smaller learning_rate",
        )
    return Failure(
        "internal_error",
        f"training stopped on an unexpected error: {type(error).__name__}: {error}",
    )
