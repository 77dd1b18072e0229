"""What a training run reports: one EpochMetrics (core.metrics) per epoch and a FitResult."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from core.metrics import EpochMetrics


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
    precision: str = "fp32"  # the number format actually used ("auto" resolved; issue 13)
    compiled: bool = False  # whether torch.compile ran
    # The dataset's class names in label order: the rows of the confusion matrix.
    classes: list[str] = field(default_factory=list)

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
            "precision": self.precision,
            "compiled": self.compiled,
        }
