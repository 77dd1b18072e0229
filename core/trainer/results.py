"""What a training run reports: one EpochMetrics per epoch and a FitResult at the end."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int  # 1-based
    train_loss: float  # mean cross-entropy over the epoch's (augmented) training batches
    train_accuracy: float  # fraction in [0, 1], on the augmented batches in training mode
    test_loss: float
    test_accuracy: float  # fraction in [0, 1]
    learning_rate: float  # at the end of the epoch
    seconds: float  # wall time of the epoch, evaluation included
    images_per_second: float  # training images / training time (evaluation excluded)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EpochMetrics:
        return cls(**values)


@dataclass
class FitResult:
    model: nn.Module  # the trained network, eval mode, on the training device
    state_dict: dict[str, torch.Tensor]  # CPU copies; loads into build_model(...) as is
    history: list[EpochMetrics]
    final: EpochMetrics | None  # the last completed epoch; None if none completed
    # Best epoch as measured on the test set: for information only, not a headline figure
    # (choosing it uses the test set); the headline is the final epoch.
    best_test_accuracy: float | None
    best_epoch: int | None
    test_loss: float | None  # final epoch; None if no epoch completed
    test_accuracy: float | None
    per_class_accuracy: list[float]  # final epoch, one per class (empty if no epoch completed)
    confusion_matrix: list[list[int]]  # rows = true class, columns = predicted class
    stopped: bool  # should_stop() ended the run early
    epochs_completed: int

    def metrics_dict(self) -> dict[str, Any]:
        """Everything but the weights, as plain values for JSON."""
        return {
            "history": [m.as_dict() for m in self.history],
            "final": self.final.as_dict() if self.final else None,
            "best_test_accuracy": self.best_test_accuracy,
            "best_epoch": self.best_epoch,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "per_class_accuracy": self.per_class_accuracy,
            "confusion_matrix": self.confusion_matrix,
            "stopped": self.stopped,
            "epochs_completed": self.epochs_completed,
        }
