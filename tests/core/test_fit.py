from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import torch

from core.spec import TrainConfig
from core.trainer import loop as loop_module
from core.trainer.checkpoint import Checkpoint
from core.trainer.errors import TrainingDivergedError
from core.trainer.fit import fit
from core.trainer.models import build_model
from core.trainer.results import EpochMetrics, FitResult
from tests.core.conftest import TinyConfig, assert_same_tensors

BATCHES = 10  # 500 generated training images at batch 50


def _resume_config(data_dir: Path) -> TrainConfig:
    # Warm-up on and 3 epochs (lr drop at 1.5 epochs), so a stop lands during warm-up, and
    # the run crosses a schedule boundary after it.
    return TrainConfig(
        depth=8,
        epochs=3,
        batch_size=50,
        data_dir=str(data_dir),
        device="cpu",
        eval_batch_size=200,
        warmup="on",
        seed=7,
    )


def _round_trip(checkpoint: Checkpoint) -> Checkpoint:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.fixture(scope="module")
def uninterrupted(cifar10_dir: Path) -> FitResult:
    return fit(_resume_config(cifar10_dir))


def _without_time(history: list[EpochMetrics]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in m.as_dict().items() if k not in ("seconds", "images_per_second")}
        for m in history
    ]


def test_fit_learns_generated_data_above_90_percent(tiny_config: TinyConfig) -> None:
    result = fit(tiny_config(epochs=5, batch_size=32))
    assert result.test_accuracy is not None and result.test_accuracy >= 0.9
    assert result.final is result.history[-1]
    assert [m.epoch for m in result.history] == [1, 2, 3, 4, 5]
    assert result.epochs_completed == 5 and not result.stopped
    assert len(result.per_class_accuracy) == 10
    assert sum(map(sum, result.confusion_matrix)) == 200
    assert result.best_test_accuracy == max(m.test_accuracy for m in result.history)
    assert not result.model.training
    assert all(t.device.type == "cpu" for t in result.state_dict.values())
    model = build_model("resnet", 8)
    model.load_state_dict(result.state_dict)
    # The normalisation buffers hold the training set's statistics, not the identity.
    assert not torch.equal(model.std, torch.ones_like(model.std))


def test_fit_same_seed_identical_weights(tiny_config: TinyConfig) -> None:
    config = tiny_config(epochs=1, channels_last=False)
    first, second = fit(config), fit(config)
    assert_same_tensors(first.state_dict, second.state_dict)
    other = fit(tiny_config(epochs=1, channels_last=False, seed=1))
    assert not torch.equal(first.state_dict["fc.weight"], other.state_dict["fc.weight"])


def test_fit_resume_at_epoch_boundary_equals_uninterrupted(
    cifar10_dir: Path, uninterrupted: FitResult
) -> None:
    config = _resume_config(cifar10_dir)
    epochs_seen: list[int] = []
    checkpoints: list[Checkpoint] = []
    first = fit(
        config,
        on_epoch=lambda m: epochs_seen.append(m.epoch),
        should_stop=lambda: len(epochs_seen) == 1,
        on_checkpoint=checkpoints.append,
    )
    assert first.stopped and first.epochs_completed == 1
    assert [(c["epoch"], c["batch"]) for c in checkpoints] == [(1, 0), (1, 0)]
    resumed = fit(config, resume_from=_round_trip(checkpoints[-1]))
    assert not resumed.stopped and resumed.epochs_completed == 3
    assert_same_tensors(resumed.state_dict, uninterrupted.state_dict)
    assert _without_time(resumed.history) == _without_time(uninterrupted.history)


def test_fit_resume_mid_epoch_equals_uninterrupted(
    cifar10_dir: Path, uninterrupted: FitResult
) -> None:
    config = _resume_config(cifar10_dir)
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return polls > BATCHES + 4  # after 4 batches of the second epoch

    checkpoints: list[Checkpoint] = []
    first = fit(config, should_stop=should_stop, on_checkpoint=checkpoints.append)
    assert first.stopped
    stop = checkpoints[-1]
    assert (stop["epoch"], stop["batch"]) == (1, 4)
    assert stop["schedule"]["warmup"]["active"]  # the stop fell inside warm-up
    resumed = fit(config, resume_from=_round_trip(stop))
    assert_same_tensors(resumed.state_dict, uninterrupted.state_dict)
    assert _without_time(resumed.history) == _without_time(uninterrupted.history)


def test_fit_checkpoint_interval_gives_resumable_mid_epoch_checkpoints(
    cifar10_dir: Path, uninterrupted: FitResult
) -> None:
    config = _resume_config(cifar10_dir)
    checkpoints: list[Checkpoint] = []
    fit(config, on_checkpoint=checkpoints.append, checkpoint_interval_s=1e-9)
    positions = [(c["epoch"], c["batch"]) for c in checkpoints]
    # One after every batch but the last of an epoch, then one at every epoch's end.
    expected = [(e, b) for e in range(3) for b in range(1, BATCHES)]
    expected = sorted(expected + [(e, 0) for e in (1, 2, 3)])
    assert sorted(positions) == expected
    late = next(c for c in checkpoints if (c["epoch"], c["batch"]) == (2, 7))
    assert late["epoch_stats"]["seen"] == 7 * 50
    resumed = fit(config, resume_from=_round_trip(late))
    assert_same_tensors(resumed.state_dict, uninterrupted.state_dict)


def test_fit_checkpoint_holds_only_weights_only_types(tiny_config: TinyConfig) -> None:
    checkpoints: list[Checkpoint] = []
    fit(tiny_config(epochs=1), on_checkpoint=checkpoints.append)
    loaded = _round_trip(checkpoints[-1])
    assert set(loaded) >= {"model", "optimizer", "schedule", "epoch", "batch", "rng"}
    assert set(loaded) >= {"epoch_stats", "config"}
    assert loaded["config"] == tiny_config(epochs=1).to_dict()
    assert loaded["epoch"] == 1 and loaded["batch"] == 0


def test_fit_should_stop_honoured_before_next_batch(tiny_config: TinyConfig) -> None:
    done: list[int] = []
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return len(done) >= 3  # becomes true while the third batch runs

    checkpoints: list[Checkpoint] = []
    result = fit(
        tiny_config(epochs=2),
        should_stop=should_stop,
        on_batch=lambda epoch, batch, total: done.append(batch),
        on_checkpoint=checkpoints.append,
    )
    assert result.stopped and result.epochs_completed == 0
    assert done == [1, 2, 3] and polls == 4
    assert len(checkpoints) == 1 and checkpoints[0]["batch"] == 3
    assert result.history == [] and result.test_accuracy is None


def test_fit_huge_learning_rate_raises_diverged(tiny_config: TinyConfig) -> None:
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch \d+.*learning rate too high"):
        fit(tiny_config(epochs=1, learning_rate=10.0, warmup="off"))


def _record_rates(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    rates: list[float] = []
    original = loop_module.learning_rate

    def recording(*args: Any, **kwargs: Any) -> float:
        rates.append(original(*args, **kwargs))
        return rates[-1]

    monkeypatch.setattr(loop_module, "learning_rate", recording)
    return rates


def test_fit_warmup_returns_to_peak_rate_when_error_falls(
    tiny_config: TinyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = _record_rates(monkeypatch)
    checkpoints: list[Checkpoint] = []
    result = fit(
        tiny_config(epochs=10, warmup="on", warmup_max_iterations=1000),
        should_stop=lambda: 0.1 in rates or len(rates) >= 6 * BATCHES,
        on_checkpoint=checkpoints.append,
    )
    assert result.stopped
    assert rates[0] == pytest.approx(0.01)
    back = rates.index(0.1)
    assert back >= 20  # a full window of batch errors first
    assert all(r == pytest.approx(0.01) for r in rates[:back])
    warmup = checkpoints[-1]["schedule"]["warmup"]
    assert warmup["active"] is False and warmup["iterations"] == back  # not the cap


def test_fit_depth_110_auto_warmup_returns_to_peak_rate(
    tiny_config: TinyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = _record_rates(monkeypatch)
    # A low cap keeps this 110-layer run short; the error-based exit is tested above.
    config = tiny_config(depth=110, batch_size=8, epochs=10, warmup_max_iterations=25)
    result = fit(config, should_stop=lambda: 0.1 in rates or len(rates) >= 40)
    assert result.stopped
    assert rates == [pytest.approx(0.01)] * 25 + [pytest.approx(0.1)]


def test_fit_bf16_on_cpu_trains_on_request(tiny_config: TinyConfig) -> None:
    # bf16 is very slow on CPUs without native support: two batches are enough to show it runs.
    checkpoints: list[Checkpoint] = []
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return polls > 2

    result = fit(
        tiny_config(precision="bf16"), should_stop=should_stop, on_checkpoint=checkpoints.append
    )
    assert result.stopped and checkpoints[-1]["batch"] == 2
    stats = checkpoints[-1]["epoch_stats"]
    assert stats["seen"] == 100 and 0 < stats["loss_sum"] / stats["seen"] < 10


def test_fit_returns_the_class_names_in_label_order(
    uninterrupted: FitResult, cifar10_dir: Path
) -> None:
    """The worker labels the confusion matrix with them, without reading the dataset again."""
    from core.trainer.data import load_cifar

    assert uninterrupted.classes == list(load_cifar(cifar10_dir, "cifar10").classes)
    assert len(uninterrupted.classes) == len(uninterrupted.confusion_matrix) == 10
