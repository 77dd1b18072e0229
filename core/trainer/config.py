"""The trainer's configuration: `TrainConfig`, declared once in `core.spec` (torch-free)."""

from __future__ import annotations

from core.spec import LR_SCHEDULES, PRECISIONS, TRAIN_MODES, WARMUP_MODES, TrainConfig

__all__ = ["LR_SCHEDULES", "PRECISIONS", "TRAIN_MODES", "WARMUP_MODES", "TrainConfig"]
