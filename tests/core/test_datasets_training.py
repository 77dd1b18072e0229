"""The trainer on an uploaded data set's canonical file (issue 19): its classes, its images, and
CIFAR weights transferred onto it (frozen_base)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import torch

from core.datasets.canonical import save
from core.datasets.process import process_upload
from core.spec import TrainConfig
from core.trainer.data import load_cifar
from core.trainer.fit import fit
from testkit.dataset_files import image_folder_archive
from tests.core.conftest import TinyConfig

CLASSES = ["apple", "kiwi", "lime", "plum"]


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("uploaded")
    data = process_upload(image_folder_archive(folder / "a.zip", CLASSES, per_class=30))
    save(data, folder / "canonical.npz")
    return folder / "canonical.npz"


def test_load_cifar_reads_a_canonical_file(canonical: Path) -> None:
    data = load_cifar("unused", str(uuid.uuid4()), canonical=canonical)
    assert data.classes == CLASSES
    assert data.train_images.shape == (120, 3, 32, 32) and data.train_images.dtype == torch.uint8
    assert data.test_labels.dtype == torch.int64 and data.test_labels.shape == (40,)


def test_fit_on_an_uploaded_dataset_learns_its_classes(
    tiny_config: TinyConfig, canonical: Path
) -> None:
    config = tiny_config(dataset=str(uuid.uuid4()), dataset_file=str(canonical), epochs=3)
    assert config.num_classes == 4
    result = fit(config)
    assert result.classes == CLASSES
    assert result.state_dict["fc.weight"].shape == (4, 64)
    assert len(result.per_class_accuracy) == 4
    assert result.history[-1].test_accuracy > 0.5  # four colours: far above chance (0.25)


def test_frozen_base_moves_cifar10_weights_onto_an_uploaded_dataset(
    tiny_config: TinyConfig, canonical: Path, cifar10_dir: Path, tmp_path: Path
) -> None:
    base = TrainConfig(depth=8, epochs=1, batch_size=50, data_dir=str(cifar10_dir), device="cpu")
    weights = tmp_path / "base.pt"
    torch.save(fit(base).state_dict, weights)
    config = tiny_config(
        dataset=str(uuid.uuid4()),
        dataset_file=str(canonical),
        train_mode="frozen_base",
        init_weights=str(weights),
        epochs=1,
    )
    result = fit(config)
    assert result.state_dict["fc.weight"].shape == (4, 64)
    before = torch.load(weights, weights_only=True)
    assert torch.equal(result.state_dict["conv1.weight"], before["conv1.weight"])
