"""A job's resolved spec (written by the API) plus the worker's settings, as a TrainConfig.

Imported by the training process only. Which spec keys are training settings is derived from
the one declaration (`core.spec`); `init_from` (a job id) becomes `init_weights` (a file),
which only the caller can write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.settings import Settings
from core.spec import SERVICE_NAMES, ResolvedSpec, TrainConfig


def train_config(
    spec: dict[str, Any],
    settings: Settings,
    *,
    init_weights: Path | None = None,
    dataset_file: Path | None = None,
) -> TrainConfig:
    """The trainer's configuration; a ValueError names every field it refuses."""
    job_values = ResolvedSpec.from_stored(spec).job_settings()
    # A stored spec holds what a request may set, nothing the service fixes (warmup, precision).
    unknown = sorted(set(spec) - set(job_values) - SERVICE_NAMES)
    if unknown:
        raise ValueError(f"unknown fields in the job's spec: {', '.join(unknown)}")
    return TrainConfig(
        **job_values,
        data_dir=str(settings.data_dir),
        download=settings.download_datasets,
        device=settings.device,
        init_weights=str(init_weights) if init_weights is not None else None,
        dataset_file=str(dataset_file) if dataset_file is not None else None,
    )
