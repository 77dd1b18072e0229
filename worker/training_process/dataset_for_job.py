"""The uploaded data set a job trains on (issue 19), as a local file for the trainer; imported
by the training process only (worker.training_process.failures imports torch)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from core.architecture import DATASET_CLASSES
from core.settings import Settings
from core.store.datasets import DatasetNotReady
from worker.dataset_cache import cached_dataset
from worker.training_process.failures import Failure


def uploaded_dataset(settings: Settings, job_id: uuid.UUID, spec: dict[str, Any]) -> Path | None:
    """The local file of the uploaded data set the job's spec names; None for CIFAR. A data set
    that is gone or not ready fails the job with a message naming it."""
    name = str(spec.get("dataset", "cifar10"))
    if name in DATASET_CLASSES:
        return None
    try:
        path, _ = cached_dataset(settings, job_id=job_id, dataset_id=uuid.UUID(name))
    except (DatasetNotReady, ValueError) as error:
        raise Failure("dataset_unusable", f"cannot train on data set {name}: {error}") from error
    return path
