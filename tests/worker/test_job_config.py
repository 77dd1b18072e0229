"""The job's spec and the worker's settings, as the trainer's TrainConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from testkit.builders import SPEC
from worker.training_process.job_config import train_config


def _settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", download_datasets=False, device="cuda:1"
    )


def test_train_config_copies_every_spec_field(tmp_path: Path) -> None:
    spec = {
        **SPEC,
        "architecture": "plain",
        "depth": 56,
        "epochs": 164,
        "dataset": "cifar100",
        "batch_size": 256,
        "learning_rate": 0.05,
        "momentum": 0.8,
        "weight_decay": 5e-4,
        "lr_schedule": "cosine",
        "augment": False,
        "seed": 7,
        "shortcut": "B",
    }
    config = train_config(spec, _settings(tmp_path))
    for name, value in spec.items():
        if name != "init_from":
            assert getattr(config, name) == value, name


def test_train_config_takes_data_download_and_device_from_settings(tmp_path: Path) -> None:
    config = train_config(SPEC, _settings(tmp_path))
    assert config.data_dir == str(tmp_path / "data")
    assert config.download is False
    assert config.device == "cuda:1"
    assert config.init_weights is None


def test_train_config_passes_init_weights_file_when_given(tmp_path: Path) -> None:
    weights = tmp_path / "base.pt"
    spec = {
        **SPEC,
        "train_mode": "frozen_base",
        "init_from": "5b0c3f9e-0000-4000-8000-000000000000",
    }
    config = train_config(spec, _settings(tmp_path), init_weights=weights)
    assert config.init_weights == str(weights)
    assert config.train_mode == "frozen_base"


def test_train_config_rejects_unknown_spec_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="warmup"):
        train_config({**SPEC, "warmup": "on"}, _settings(tmp_path))


def test_train_config_rejects_untrainable_value(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="depth"):
        train_config({**SPEC, "depth": 9}, _settings(tmp_path))
