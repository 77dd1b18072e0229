"""A job's resolved spec (written by the API) plus the worker's settings, as a TrainConfig.

Imported by the training process only. Which spec keys are training settings is derived from
the one declaration (`core.spec`); `init_from` (a job id) becomes `init_weights` (a file),
which only the caller can write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.settings import Settings
from core.spec import TrainConfig, api_settings

# Spec keys that are not training settings (the API resolves them into something else).
SERVICE_KEYS = frozenset({"init_from"})


def train_config(
    spec: dict[str, Any],
    settings: Settings,
    *,
    init_weights: Path | None = None,
    dataset_file: Path | None = None,
) -> TrainConfig:
    """The trainer's configuration; a ValueError names every field it refuses."""
    names = {s.name for s in api_settings()}
    unknown = sorted(set(spec) - names - SERVICE_KEYS)
    if unknown:
        raise ValueError(f"unknown fields in the job's spec: {', '.join(unknown)}")
    values = {name: value for name, value in spec.items() if name in names}
    return TrainConfig(
        **values,
        data_dir=str(settings.data_dir),
        download=settings.download_datasets,
        device=settings.device,
        init_weights=str(init_weights) if init_weights is not None else None,
        dataset_file=str(dataset_file) if dataset_file is not None else None,
    )
