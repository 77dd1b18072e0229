from __future__ import annotations

import json

import pytest

from core.spec import TrainConfig


def test_config_defaults_are_the_paper_recipe() -> None:
    config = TrainConfig()
    assert (config.learning_rate, config.momentum, config.weight_decay) == (0.1, 0.9, 1e-4)
    assert (config.batch_size, config.epochs, config.lr_milestones) == (128, 164, (0.5, 0.75))
    assert (config.lr_gamma, config.warmup_learning_rate, config.warmup_until_error) == (
        0.1,
        0.01,
        0.8,
    )


def test_config_to_dict_round_trips_through_json() -> None:
    config = TrainConfig(depth=32, lr_milestones=(0.3, 0.6), init_weights="w.pt")
    values = json.loads(json.dumps(config.to_dict()))
    assert values["lr_milestones"] == [0.3, 0.6]
    assert TrainConfig.from_dict(values) == config


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"depth": 21}, "depth"),
        ({"architecture": "densenet"}, "architecture"),  # vgg exists since issue 10
        ({"shortcut": "C"}, "shortcut"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"lr_schedule": "linear"}, "lr_schedule"),
        ({"warmup": "yes"}, "warmup"),
        ({"precision": "fp8"}, "precision"),  # fp16 exists since issue 13
        ({"train_mode": "linear_probe"}, "train_mode"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"momentum": 1.5}, "momentum"),
        ({"lr_milestones": (0.75, 0.5)}, "lr_milestones"),
        ({"lr_milestones": (0.5, 1.2)}, "lr_milestones"),
        ({"device": "tpu"}, "device"),
        ({"train_mode": "frozen_base"}, "init_weights"),
        ({"augment": "yes"}, "augment"),
    ],
)
def test_config_invalid_field_raises_value_error_naming_it(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**changes)  # type: ignore[arg-type]


def test_config_from_dict_unknown_field_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown TrainConfig fields: colour"):
        TrainConfig.from_dict({"colour": "red"})


def test_config_num_classes_follows_dataset() -> None:
    assert TrainConfig(dataset="cifar100").num_classes == 100
