"""Time estimates from measured throughput: the nearest measurement per device, FLOPs scaling."""

from __future__ import annotations

import pytest

from core.compute import training_flops
from core.estimate import Measurement, cost, estimate_times

SPEC = {
    "architecture": "resnet",
    "depth": 32,
    "dataset": "cifar10",
    "shortcut": "A",
    "batch_size": 128,
    "epochs": 4,
}


def measured(depth: int, speed: float, **fields: object) -> Measurement:
    values: dict = {
        "device": "gpu",
        "architecture": "resnet",
        "depth": depth,
        "batch_size": 128,
        "precision": "bf16",
        "images_per_second": speed,
        **fields,
    }
    return Measurement(**values)


def test_estimate_uses_the_nearest_depth_and_scales_by_flops() -> None:
    (answer,) = estimate_times(SPEC, [measured(20, 1000.0), measured(110, 100.0)])
    assert answer["based_on"]["depth"] == 20
    rate = 1000.0 * training_flops("resnet", 20) / training_flops("resnet", 32)  # type: ignore[operator]
    assert answer["images_per_second"] == pytest.approx(rate)
    assert answer["seconds_per_epoch"] == pytest.approx(50_000 / rate)
    assert answer["seconds"] == pytest.approx(4 * answer["seconds_per_epoch"])


def test_estimate_prefers_the_same_batch_size_and_architecture() -> None:
    found = [
        measured(32, 900.0, batch_size=256),
        measured(20, 1000.0),
        measured(32, 700.0, architecture="plain"),
    ]
    (answer,) = estimate_times(SPEC, found)
    assert (answer["based_on"]["depth"], answer["based_on"]["batch_size"]) == (20, 128)
    (other,) = estimate_times({**SPEC, "batch_size": 256}, found)
    assert other["based_on"]["batch_size"] == 256
    assert "another batch size" not in other["method"]
    (plain,) = estimate_times({**SPEC, "architecture": "plain"}, found)
    assert plain["based_on"]["architecture"] == "plain"


def test_estimate_gives_one_answer_per_device_and_precision() -> None:
    found = [
        measured(20, 1000.0),
        measured(20, 600.0, precision="fp32"),
        measured(20, 50.0, device="cpu", precision="fp32", batch_size=64),
    ]
    answers = estimate_times(SPEC, found, train_images=500, test_images=100)
    assert [(a["device"], a["precision"]) for a in answers] == [
        ("cpu", "fp32"),
        ("gpu", "bf16"),
        ("gpu", "fp32"),
    ]
    assert "another batch size (64, this job 128)" in answers[0]["method"]
    rate = answers[1]["images_per_second"]
    assert answers[1]["seconds_per_epoch"] == pytest.approx(500 / rate)


def test_estimate_without_measurements_or_formula_is_empty() -> None:
    assert estimate_times(SPEC, []) == []
    assert estimate_times({**SPEC, "architecture": "vgg", "depth": 16}, [measured(20, 1.0)]) == []
    assert cost({**SPEC, "architecture": "vgg", "depth": 16})["forward_flops_per_image"] is None
