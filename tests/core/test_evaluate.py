from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.trainer.data import load_cifar
from core.trainer.evaluation import evaluate
from core.trainer.fit import fit
from core.trainer.models import build_model
from tests.core.conftest import TinyConfig


def test_evaluate_downloaded_weights_file_with_public_functions(
    tiny_config: TinyConfig, cifar10_dir: Path, tmp_path: Path
) -> None:
    result = fit(tiny_config(epochs=2))
    path = tmp_path / "weights.pt"
    torch.save(result.state_dict, path)
    # What a user does with a weights file and the test files, nothing else known:
    model = build_model("resnet", 8)
    model.load_state_dict(torch.load(path, weights_only=True))
    data = load_cifar(cifar10_dir, "cifar10")
    loss, accuracy, per_class, confusion = evaluate(model, data.test_images, data.test_labels)
    assert accuracy == pytest.approx(result.test_accuracy)
    assert loss == pytest.approx(result.test_loss, rel=1e-4)
    assert per_class == pytest.approx(result.per_class_accuracy)
    assert confusion == result.confusion_matrix
    # Floats in [0, 1] classify exactly like the uint8 images.
    again = evaluate(model, data.test_images.float() / 255, data.test_labels, batch_size=64)
    assert again.accuracy == pytest.approx(accuracy)


def test_evaluate_confusion_rows_are_true_classes() -> None:
    model = build_model("resnet", 8, num_classes=3).eval()
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))  # always predicts class 1
    images = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 1, 2])
    result = evaluate(model, images, labels)
    assert result.confusion_matrix == [[0, 1, 0], [0, 2, 0], [0, 1, 0]]
    assert result.per_class_accuracy == [0.0, 1.0, 0.0]
    assert result.accuracy == 0.5


def test_evaluate_bf16_on_cpu_close_to_fp32() -> None:
    model = build_model("resnet", 8).eval()
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (8,))
    fp32 = evaluate(model, images, labels)
    bf16 = evaluate(model, images, labels, precision="bf16")
    assert bf16.loss == pytest.approx(fp32.loss, rel=0.05)
