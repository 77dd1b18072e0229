"""Shared builders for the trainer tests: generated CIFAR files and tiny configurations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from core.spec import TrainConfig
from testkit.cifar_files import write_cifar10, write_cifar100

# Every test runs on the CPU with the same thread count, so repeated runs match bitwise.
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def cifar10_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 training and 200 test images of the generated CIFAR-10."""
    root = tmp_path_factory.mktemp("cifar10")
    write_cifar10(root, train_per_class=50, test_per_class=20, seed=1)
    return root


@pytest.fixture(scope="session")
def cifar100_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 training and 200 test images of the generated CIFAR-100."""
    root = tmp_path_factory.mktemp("cifar100")
    write_cifar100(root, train_per_class=5, test_per_class=2, seed=2)
    return root


TinyConfig = Callable[..., TrainConfig]


@pytest.fixture
def tiny_config(cifar10_dir: Path) -> TinyConfig:
    """A depth-8 ResNet for a few epochs of 500 images on the CPU; keywords override."""

    def make(**overrides: Any) -> TrainConfig:
        values: dict[str, Any] = {
            "depth": 8,
            "epochs": 2,
            "batch_size": 50,
            "data_dir": str(cifar10_dir),
            "device": "cpu",
            "eval_batch_size": 200,
            "seed": 0,
        }
        values.update(overrides)
        return TrainConfig(**values)

    return make


def assert_same_tensors(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> None:
    assert left.keys() == right.keys()
    different = [k for k in left if not torch.equal(left[k], right[k])]
    assert not different, f"tensors differ: {different}"
