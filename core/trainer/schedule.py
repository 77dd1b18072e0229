"""Learning rate as a pure function of training progress and the warm-up state.

The trainer writes the value into every param_group itself at each step; no torch LR scheduler
owns the rate, so warm-up cannot fight a scheduler (the bug that keeps a known reproduction of
ResNet-110 at 0.01 forever on recent PyTorch) and every boundary can be tested directly.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from core.trainer.config import TrainConfig

WARMUP_WINDOW = 20  # batches in the running training error (about 2,500 images at batch 128)
AUTO_WARMUP_DEPTH = 110  # section 4.2 warms up ResNet-110 (and the 1202-layer net) only
AUTO_WARMUP_ARCHITECTURES = ("resnet", "plain")  # the paper's; the Keras recipe has no warm-up


def warmup_enabled(config: TrainConfig) -> bool:
    if config.warmup == "auto":
        return (
            config.depth >= AUTO_WARMUP_DEPTH
            and config.architecture in AUTO_WARMUP_ARCHITECTURES
            and config.train_mode == "end_to_end"
        )
    return config.warmup == "on"


@dataclass
class WarmupState:
    """Section 4.2: lr 0.01 "until the training error is below 80% (about 400 iterations)"."""

    active: bool
    iterations: int = 0  # steps taken while warming up
    recent_errors: deque[float] = field(default_factory=lambda: deque(maxlen=WARMUP_WINDOW))

    @classmethod
    def start(cls, config: TrainConfig) -> WarmupState:
        return cls(active=warmup_enabled(config))

    def update(self, batch_error: float, config: TrainConfig) -> None:
        """Record one step's training error (fraction wrong); leave warm-up when it is done."""
        if not self.active:
            return
        self.iterations += 1
        self.recent_errors.append(batch_error)
        window_full = len(self.recent_errors) == WARMUP_WINDOW
        running_error = sum(self.recent_errors) / len(self.recent_errors)
        if (window_full and running_error < config.warmup_until_error) or (
            self.iterations >= config.warmup_max_iterations
        ):
            self.active = False
            self.recent_errors.clear()

    def state_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "iterations": self.iterations,
            "recent_errors": list(self.recent_errors),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> WarmupState:
        errors: deque[float] = deque(state["recent_errors"], maxlen=WARMUP_WINDOW)
        active, iterations = bool(state["active"]), int(state["iterations"])
        return cls(active=active, iterations=iterations, recent_errors=errors)


def scheduled_learning_rate(config: TrainConfig, progress: float) -> float:
    """The rate after `progress` epochs of training (fractional: epoch + batch / batches)."""
    base = config.learning_rate
    if config.lr_schedule == "multistep":
        # Section 4.2 divides by 10 at 32k and 48k of 64k iterations: 50 % and 75 % of training.
        passed = sum(progress >= m * config.epochs for m in config.lr_milestones)
        return base * config.lr_gamma**passed
    if config.lr_schedule == "step":
        # The Keras reproduction: x step_gamma every step_epochs whole epochs (x0.5 every 20
        # for VGG, x0.1 every 20 for the ResNets).
        return base * config.step_gamma ** (int(progress) // config.step_epochs)
    # Cosine annealing to zero at the end of training, evaluated at every step.
    return base * 0.5 * (1.0 + math.cos(math.pi * min(progress / config.epochs, 1.0)))


def learning_rate(
    config: TrainConfig, *, epoch: int, batch: int, batches_per_epoch: int, warming_up: bool
) -> float:
    """The rate for step `batch` (0-based) of epoch `epoch` (0-based, completed epochs).

    With lr_decay, Keras' time-based decay (issue 12) divides the schedule's rate by
    1 + lr_decay x iterations, the optimizer steps taken before this one over the whole run.
    """
    if warming_up:
        return config.warmup_learning_rate
    rate = scheduled_learning_rate(config, epoch + batch / batches_per_epoch)
    if config.lr_decay:
        rate /= 1.0 + config.lr_decay * (epoch * batches_per_epoch + batch)
    return rate
