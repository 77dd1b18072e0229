"""The divergence watchdog's judgement of one epoch: a blow-up is a warning, not only NaN.

The loop stops a run only when a batch loss is not finite (or absurd, loop.DIVERGENCE_LOSS).
A run that blew up in its first steps and sits near chance afterwards (issue 22: VGG-16 at
lr 0.1, first epoch train loss 55.5, test loss 37,357, then 16 % test accuracy) raises nothing
there; `judge_epoch` names it from the epoch's record so the service can warn while it goes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.metrics import EpochMetrics

# Cross-entropy starts near ln(classes) and a learning run goes below it; a mean over a whole
# epoch of several times that means logits far apart on the wrong side (issue 22: 24x).
ABOVE_CHANCE_FACTOR = 3.0
# Batch norm's running statistics wrecked by a blow-up make the test loss explode while the
# training loss (batch statistics) looks sane (issue 22: 37,357 against 55.5). An overfitting
# run can reach a test loss hundreds of times a near-zero training loss, hence both conditions.
TEST_LOSS_RATIO = 1000.0
HINT = (
    "the learning rate is probably too high for this network at this point: lower "
    "learning_rate, or warm up (warmup 'on': warmup_learning_rate until the training error "
    "falls below warmup_until_error)"
)


@dataclass(frozen=True)
class TrainingWarning:
    """A finding about a run that does not stop it; the service stores it as a `warning` event."""

    code: str  # "loss_above_chance" or "test_loss_blowup"
    message: str  # what was seen, with the hint
    epoch: int  # the epoch whose record showed it (1-based)


def judge_epoch(metrics: EpochMetrics, *, num_classes: int) -> list[TrainingWarning]:
    """The warnings that one epoch's record calls for (none for a healthy or a NaN epoch)."""
    chance = math.log(num_classes)
    train, test = metrics.train_loss, metrics.test_loss
    found = []
    if math.isfinite(train) and train > ABOVE_CHANCE_FACTOR * chance:
        found.append(
            TrainingWarning(
                "loss_above_chance",
                f"epoch {metrics.epoch}: training loss {train:.4g} is far above chance "
                f"(ln {num_classes} = {chance:.3g}); {HINT}",
                metrics.epoch,
            )
        )
    blown = test > TEST_LOSS_RATIO * train and test > ABOVE_CHANCE_FACTOR * chance
    if math.isfinite(train) and not math.isnan(test) and blown:
        found.append(
            TrainingWarning(
                "test_loss_blowup",
                f"epoch {metrics.epoch}: test loss {test:.4g} is {test / max(train, 1e-12):.0f}"
                f" times the training loss {train:.4g} (batch norm statistics blown up?); {HINT}",
                metrics.epoch,
            )
        )
    return found
