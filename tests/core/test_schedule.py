from __future__ import annotations

import math

import pytest

from core.spec import TrainConfig
from core.trainer.schedule import (
    WARMUP_WINDOW,
    WarmupState,
    learning_rate,
    scheduled_learning_rate,
    warmup_enabled,
)


def _lr(config: TrainConfig, epoch: int, batch: int = 0, *, batches: int = 100) -> float:
    return learning_rate(
        config, epoch=epoch, batch=batch, batches_per_epoch=batches, warming_up=False
    )


def test_learning_rate_multistep_divides_at_half_and_three_quarters() -> None:
    config = TrainConfig()  # 164 epochs: milestones at epochs 82 and 123
    assert _lr(config, 0) == pytest.approx(0.1)
    assert _lr(config, 81, 99) == pytest.approx(0.1)
    assert _lr(config, 82, 0) == pytest.approx(0.01)
    assert _lr(config, 122, 99) == pytest.approx(0.01)
    assert _lr(config, 123, 0) == pytest.approx(0.001)
    assert _lr(config, 163, 99) == pytest.approx(0.001)


def test_learning_rate_multistep_boundary_inside_an_epoch() -> None:
    config = TrainConfig(epochs=3)  # 50 %: epoch 1.5
    assert _lr(config, 1, 49) == pytest.approx(0.1)
    assert _lr(config, 1, 50) == pytest.approx(0.01)


def test_learning_rate_step_halves_every_20_epochs() -> None:
    config = TrainConfig(lr_schedule="step", epochs=250, learning_rate=1e-3)
    assert _lr(config, 0) == pytest.approx(1e-3)
    assert _lr(config, 19, 99) == pytest.approx(1e-3)
    assert _lr(config, 20) == pytest.approx(5e-4)
    assert _lr(config, 39, 99) == pytest.approx(5e-4)
    assert _lr(config, 40) == pytest.approx(2.5e-4)
    assert _lr(config, 249, 99) == pytest.approx(1e-3 * 0.5**12)


def test_learning_rate_cosine_starts_at_peak_and_ends_near_zero() -> None:
    config = TrainConfig(lr_schedule="cosine", epochs=10)
    assert _lr(config, 0) == pytest.approx(0.1)
    assert _lr(config, 5) == pytest.approx(0.05)
    assert _lr(config, 9, 99) == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.999)))
    assert _lr(config, 9, 99) < 1e-5
    assert scheduled_learning_rate(config, 10.0) == pytest.approx(0.0, abs=1e-12)


def test_learning_rate_warming_up_uses_warmup_rate() -> None:
    config = TrainConfig(depth=110)
    rate = learning_rate(config, epoch=0, batch=5, batches_per_epoch=391, warming_up=True)
    assert rate == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("depth", "expected"), [(20, False), (56, False), (110, True), (1202, True)]
)
def test_warmup_enabled_auto_from_depth_110(depth: int, expected: bool) -> None:
    assert warmup_enabled(TrainConfig(depth=depth)) is expected
    assert warmup_enabled(TrainConfig(depth=depth, warmup="off")) is False
    assert warmup_enabled(TrainConfig(depth=depth, warmup="on")) is True


def test_warmup_returns_to_peak_after_error_below_80_percent() -> None:
    config = TrainConfig(depth=110)
    warmup = WarmupState.start(config)
    rates = []
    errors = [0.9] * 300 + [0.6] * 100  # the training error falls after step 300
    for step, error in enumerate(errors):
        rates.append(
            learning_rate(
                config, epoch=0, batch=step, batches_per_epoch=391, warming_up=warmup.active
            )
        )
        warmup.update(error, config)
    assert rates[0] == pytest.approx(0.01)
    assert rates[300] == pytest.approx(0.01)
    # The mean of the last 20 errors first falls below 0.8 with seven 0.6s (15.9 / 20).
    assert WARMUP_WINDOW == 20
    leave = 300 + 7
    assert rates[leave - 1] == pytest.approx(0.01)
    assert rates[leave] == pytest.approx(0.1)
    assert rates[-1] == pytest.approx(0.1)
    assert not warmup.active
    warmup.update(0.95, config)  # warm-up never comes back
    assert not warmup.active


def test_warmup_leaves_at_max_iterations_without_progress() -> None:
    config = TrainConfig(depth=110, warmup_max_iterations=50)
    warmup = WarmupState.start(config)
    for _ in range(49):
        warmup.update(0.99, config)
    assert warmup.active
    warmup.update(0.99, config)
    assert not warmup.active and warmup.iterations == 50


def test_warmup_needs_a_full_window() -> None:
    config = TrainConfig(warmup="on")
    warmup = WarmupState.start(config)
    for _ in range(WARMUP_WINDOW - 1):
        warmup.update(0.1, config)
    assert warmup.active
    warmup.update(0.1, config)
    assert not warmup.active


def test_warmup_state_dict_round_trip() -> None:
    config = TrainConfig(warmup="on")
    warmup = WarmupState.start(config)
    for error in (0.9, 0.85, 0.95):
        warmup.update(error, config)
    restored = WarmupState.from_state_dict(warmup.state_dict())
    assert restored.state_dict() == warmup.state_dict()
    assert restored.recent_errors.maxlen == WARMUP_WINDOW
