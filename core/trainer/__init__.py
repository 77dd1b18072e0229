"""The trainer: CIFAR ResNets of He et al. 2016 (section 4.2), data, training loop, CLI support.

Imports only torch, torchvision, numpy and the standard library. Names are loaded on first use
(PEP 562), so `from core.trainer import TrainConfig` does not import torch.

fit(config, on_epoch=..., should_stop=..., resume_from=..., on_checkpoint=...,
checkpoint_interval_s=...) trains a network; on_epoch gets EpochMetrics after each epoch;
should_stop is polled before every batch and, when it returns True, fit checkpoints and returns
a FitResult with stopped=True; on_checkpoint receives a full Checkpoint after every epoch
(after on_epoch), every checkpoint_interval_s seconds mid-epoch, and when stopped; resume_from
continues from such a checkpoint and ends, on the CPU, with bitwise the same weights as a run
never stopped. on_warning receives a TrainingWarning (watchdog.judge_epoch: a loss far above
chance, a test loss thousands of times the training loss) the first time an epoch shows it;
the run goes on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.trainer.checkpoint import Checkpoint
    from core.trainer.config import TrainConfig
    from core.trainer.data import CifarData, load_cifar
    from core.trainer.errors import (
        DatasetNotFoundError,
        IncompatibleWeightsError,
        TrainingDivergedError,
    )
    from core.trainer.evaluation import Evaluation, evaluate
    from core.trainer.fit import fit
    from core.trainer.loop import train_one_epoch
    from core.trainer.models import build_model, count_parameters
    from core.trainer.results import EpochMetrics, FitResult
    from core.trainer.watchdog import TrainingWarning, judge_epoch

_SOURCES = {
    "Checkpoint": "checkpoint",
    "TrainConfig": "config",
    "CifarData": "data",
    "load_cifar": "data",
    "DatasetNotFoundError": "errors",
    "IncompatibleWeightsError": "errors",
    "TrainingDivergedError": "errors",
    "Evaluation": "evaluation",
    "evaluate": "evaluation",
    "fit": "fit",
    "train_one_epoch": "loop",
    "build_model": "models",
    "count_parameters": "models",
    "EpochMetrics": "results",
    "FitResult": "results",
    "TrainingWarning": "watchdog",
    "judge_epoch": "watchdog",
}

__all__ = [
    "Checkpoint",
    "CifarData",
    "DatasetNotFoundError",
    "EpochMetrics",
    "Evaluation",
    "FitResult",
    "IncompatibleWeightsError",
    "TrainConfig",
    "TrainingDivergedError",
    "TrainingWarning",
    "build_model",
    "count_parameters",
    "evaluate",
    "fit",
    "judge_epoch",
    "load_cifar",
    "train_one_epoch",
]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_SOURCES])
