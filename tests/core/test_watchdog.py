from __future__ import annotations

import copy
import math
from typing import Any

from core.metrics import EpochMetrics
from core.trainer.fit import fit
from core.trainer.watchdog import TrainingWarning, judge_epoch
from tests.core.conftest import TinyConfig


def _epoch(train_loss: float, test_loss: float, epoch: int = 1) -> EpochMetrics:
    return EpochMetrics(
        epoch=epoch,
        train_loss=train_loss,
        train_accuracy=0.1,
        test_loss=test_loss,
        test_accuracy=0.1,
        learning_rate=0.1,
        seconds=1.0,
        images_per_second=100.0,
    )


def test_judge_epoch_blow_up_of_issue_22_warns_twice_with_a_hint() -> None:
    # VGG-16 at lr 0.1 on the digits: first epoch train loss 55.5, test loss 37,357.
    found = judge_epoch(_epoch(55.5, 37_357.0), num_classes=10)
    assert [w.code for w in found] == ["loss_above_chance"]
    found = judge_epoch(_epoch(20.0, 37_357.0, epoch=3), num_classes=10)
    assert [w.code for w in found] == ["loss_above_chance", "test_loss_blowup"]
    assert all(w.epoch == 3 for w in found)
    assert all("learning_rate" in w.message and "warm" in w.message for w in found)
    assert "ln 10" in found[0].message


def test_judge_epoch_test_loss_thousands_of_times_training_loss_warns() -> None:
    found = judge_epoch(_epoch(1.2, 5_000.0, epoch=2), num_classes=10)
    assert [w.code for w in found] == ["test_loss_blowup"]
    assert "epoch 2" in found[0].message


def test_judge_epoch_healthy_or_overfitting_runs_stay_silent() -> None:
    assert judge_epoch(_epoch(2.30, 2.25), num_classes=10) == []  # at chance, first epoch
    assert judge_epoch(_epoch(0.4, 0.6, epoch=50), num_classes=10) == []
    # Overfitting: the ratio is huge but the test loss is ordinary.
    assert judge_epoch(_epoch(1e-4, 1.5, epoch=90), num_classes=10) == []
    # CIFAR-100 starts at ln 100 = 4.6: a loss of 9 is still ordinary there, not for CIFAR-10.
    assert judge_epoch(_epoch(9.0, 9.0), num_classes=100) == []
    assert [w.code for w in judge_epoch(_epoch(9.0, 9.0), num_classes=10)] == ["loss_above_chance"]


def test_judge_epoch_nan_is_the_loops_business_not_a_warning() -> None:
    assert judge_epoch(_epoch(math.nan, math.nan), num_classes=10) == []
    assert [w.code for w in judge_epoch(_epoch(1.0, math.inf), num_classes=10)] == [
        "test_loss_blowup"
    ]


def test_fit_reports_a_blow_up_once_per_kind_and_goes_on(tiny_config: TinyConfig) -> None:
    # ResNet-8 at lr 5 on the generated images: epoch 1 train loss ~60, test loss ~10^6;
    # epoch 2 is still far above chance but says nothing new.
    warnings: list[TrainingWarning] = []
    checkpoints: list[dict[str, Any]] = []
    result = fit(
        tiny_config(learning_rate=5.0),
        on_warning=warnings.append,
        on_checkpoint=lambda c: checkpoints.append(copy.deepcopy(c)),
    )
    assert [(w.code, w.epoch) for w in warnings] == [
        ("loss_above_chance", 1),
        ("test_loss_blowup", 1),
    ]
    assert result.epochs_completed == 2 and not result.stopped

    # Resumed after the warned epoch (another attempt, from its checkpoint), it does not warn
    # again: the warnings already raised travel in the checkpoint as its epoch records, and the
    # worker stores a warning event in the same transaction as the checkpoint of its epoch.
    after_first = next(c for c in checkpoints if (c["epoch"], c["batch"]) == (1, 0))
    resumed: list[TrainingWarning] = []
    again = fit(tiny_config(learning_rate=5.0), on_warning=resumed.append, resume_from=after_first)
    assert again.epochs_completed == 2
    assert again.history[-1].train_loss > 3 * math.log(10)  # epoch 2 would call for one
    assert resumed == []


def test_fit_healthy_run_reports_nothing(tiny_config: TinyConfig) -> None:
    warnings: list[TrainingWarning] = []
    fit(tiny_config(), on_warning=warnings.append)
    assert warnings == []
