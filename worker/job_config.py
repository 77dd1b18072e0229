"""A job's resolved spec (written by the API) plus the worker's settings, as a TrainConfig.

Imported by the training process only: `core.trainer` brings torch with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.settings import Settings
from core.trainer import TrainConfig

# Spec keys that map one to one onto TrainConfig fields. `init_from` (a job id) becomes
# `init_weights` (a file), which only the caller can write.
SPEC_FIELDS = (
    "architecture",
    "depth",
    "shortcut",
    "dataset",
    "augment",
    "epochs",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "lr_schedule",
    "train_mode",
    "seed",
)


def train_config(
    spec: dict[str, Any], settings: Settings, *, init_weights: Path | None = None
) -> TrainConfig:
    """The trainer's configuration; a ValueError names every field it refuses."""
    unknown = sorted(set(spec) - set(SPEC_FIELDS) - {"init_from"})
    if unknown:
        raise ValueError(f"unknown fields in the job's spec: {', '.join(unknown)}")
    values = {name: spec[name] for name in SPEC_FIELDS if name in spec}
    return TrainConfig(
        **values,
        data_dir=str(settings.data_dir),
        download=settings.download_datasets,
        device=settings.device,
        init_weights=str(init_weights) if init_weights is not None else None,
    )
