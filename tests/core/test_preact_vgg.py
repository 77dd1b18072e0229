"""The pre-activation ResNet and the two VGGs: structure, frozen base, CLI (issues 10 and 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.trainer.data import load_cifar
from core.trainer.errors import IncompatibleWeightsError
from core.trainer.evaluation import evaluate
from core.trainer.fit import fit
from core.trainer.models import build_model, set_normalization
from core.trainer.preact import PreActResNet, PreActUnit
from core.trainer.vgg import Vgg
from core.trainer.weights import load_initial_weights
from testkit.cifar_files import write_cifar10
from tests.core.conftest import TinyConfig, assert_same_tensors

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_cifar10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 training and 40 test images: enough to train through every path, quickly."""
    root = tmp_path_factory.mktemp("small_cifar10")
    write_cifar10(root, train_per_class=10, test_per_class=4, seed=3)
    return root


def _randomize_batch_norm(model: nn.Module) -> None:
    """Non-trivial BN statistics and affine parameters, so BN is not the identity in eval."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                size = module.num_features
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.randn(size, generator=generator))
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(size, generator=generator))


def _preact(depth: int) -> PreActResNet:
    model = build_model("preact_resnet", depth)
    assert isinstance(model, PreActResNet)
    return model


def _unit(stage: nn.Module, index: int) -> PreActUnit:
    unit = list(stage.children())[index]
    assert isinstance(unit, PreActUnit)
    return unit


def _vgg(architecture: str, depth: int) -> Vgg:
    model = build_model(architecture, depth)
    assert isinstance(model, Vgg)
    return model


def _shortcut_only(unit: PreActUnit, x: torch.Tensor) -> torch.Tensor:
    """The unit's output with its residual branch silenced (second convolution zeroed)."""
    with torch.no_grad():
        unit.conv2.weight.zero_()
        out: torch.Tensor = unit(x)
    return out


def test_preact_first_unit_takes_its_shortcut_from_the_preactivation() -> None:
    model = _preact(14).eval()
    _randomize_batch_norm(model)
    x = torch.randn(2, 16, 32, 32)
    first, second = _unit(model.layer1, 0), _unit(model.layer1, 1)
    expected = F.relu(first.bn1(x))
    assert torch.allclose(_shortcut_only(first, x), expected, atol=1e-6)
    # Every other unit adds its input itself.
    assert torch.allclose(_shortcut_only(second, x), x, atol=1e-6)


def test_preact_transition_shortcut_pools_and_zero_pads() -> None:
    model = _preact(8).eval()
    _randomize_batch_norm(model)
    x = torch.randn(2, 16, 32, 32)
    out = _shortcut_only(_unit(model.layer2, 0), x)
    assert out.shape == (2, 32, 16, 16)
    assert torch.allclose(out[:, 8:24], F.avg_pool2d(x, 2), atol=1e-6)
    assert not out[:, :8].any() and not out[:, 24:].any()


def test_preact_unit_order_is_bn_relu_conv() -> None:
    model = _preact(8)
    assert [name for name, _ in model.named_children()] == [
        "conv1",
        "layer1",
        "layer2",
        "layer3",
        "bn_final",
        "fc",
    ]
    unit = _unit(model.layer2, 0)
    assert unit.bn1.num_features == 16 and unit.bn2.num_features == 32  # BN before each conv


def _kinds(sequence: nn.Module) -> list[str]:
    names = {nn.Conv2d: "conv", nn.BatchNorm2d: "bn", nn.ReLU: "relu", nn.MaxPool2d: "pool"}
    kinds = []
    for module in sequence.children():
        if isinstance(module, nn.Dropout):
            kinds.append(f"drop{module.p}")
        else:
            kinds.append(names[type(module)])
    return kinds


def test_vgg_cifar_form_is_conv_bn_relu_without_dropout() -> None:
    model = _vgg("vgg", 11)
    assert _kinds(model.features)[:4] == ["conv", "bn", "relu", "pool"]
    assert _kinds(model.features).count("pool") == 5
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())
    assert isinstance(model.fc, nn.Linear) and model.fc.in_features == 512


def test_vgg_keras_form_dropouts_after_all_but_the_last_conv_of_each_stage() -> None:
    model = _vgg("vgg_keras", 16)
    kinds = _kinds(model.features)
    assert kinds[:8] == ["conv", "relu", "bn", "drop0.3", "conv", "relu", "bn", "pool"]
    drops = [k for k in kinds if k.startswith("drop")]
    assert drops == ["drop0.3"] + ["drop0.4"] * 7  # 13 convolutions, 5 of them end a stage
    head = [type(m).__name__ for m in model.head.children()]
    assert head == ["Dropout", "Linear", "ReLU", "BatchNorm1d", "Dropout"]
    assert [m.p for m in model.head.children() if isinstance(m, nn.Dropout)] == [0.5, 0.5]

    small = build_model("vgg_keras", 11)
    images = torch.rand(2, 3, 32, 32)
    small.train()
    assert not torch.equal(small(images), small(images))  # dropout at work
    small.eval()
    assert torch.equal(small(images), small(images))


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "depth"), [("preact_resnet", 8), ("vgg_keras", 11)])
def test_fit_frozen_base_trains_only_the_classifier(
    tiny_config: TinyConfig, small_cifar10: Path, tmp_path: Path, architecture: str, depth: int
) -> None:
    torch.manual_seed(1)
    base = build_model(architecture, depth)
    set_normalization(base, torch.full((3,), 0.4), torch.full((3,), 0.25))
    path = tmp_path / "base.pt"
    torch.save(base.state_dict(), path)
    config = tiny_config(
        architecture=architecture,
        depth=depth,
        data_dir=str(small_cifar10),
        train_mode="frozen_base",
        init_weights=str(path),
        epochs=1,
        nesterov=True,
        weight_decay_on="kernels",
    )
    result = fit(config)
    before = base.state_dict()

    def base_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v for k, v in state.items() if not k.startswith("fc.")}

    assert_same_tensors(base_only(result.state_dict), base_only(before))
    assert not torch.equal(result.state_dict["fc.weight"], before["fc.weight"])
    trainable = [n for n, p in result.model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]


KERAS_OPTIONS = [
    "--nesterov", "--lr-decay", "1e-4", "--weight-decay", "4e-4", "--weight-decay-on", "kernels",
    "--lr-schedule", "step", "--step-gamma", "0.1", "--step-epochs", "20",
    "--augmentation", "keras", "--normalization", "global", "--bn-momentum", "0.01",
    "--bn-eps", "0.001",
]  # fmt: skip


@pytest.mark.slow
def test_cli_trains_preact_resnet_20_with_the_keras_recipe(
    small_cifar10: Path, tmp_path: Path
) -> None:
    weights, metrics = tmp_path / "w.pt", tmp_path / "metrics.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "core.train", "--architecture", "preact_resnet", "--depth", "20",
            "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--data-dir",
            str(small_cifar10), "--out", str(weights), "--metrics-out", str(metrics),
            *KERAS_OPTIONS,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(metrics.read_text())
    config = report["config"]
    assert config["architecture"] == "preact_resnet" and config["augmentation"] == "keras"
    assert (config["nesterov"], config["weight_decay_on"], config["normalization"]) == (
        True,
        "kernels",
        "global",
    )
    # One epoch of 2 steps: the last step's rate is 0.1 / (1 + 1e-4 x 1).
    assert report["history"][0]["learning_rate"] == pytest.approx(0.1 / (1 + 1e-4))
    # The weights carry everything needed: build_model + load_state_dict reproduces the result.
    model = build_model("preact_resnet", 20)
    model.load_state_dict(torch.load(weights, weights_only=True))
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.eps == 1e-3 for m in norms)
    assert len(set(model.mean.flatten().tolist())) == 1  # one global mean
    cifar = load_cifar(small_cifar10, "cifar10")
    measured = evaluate(model, cifar.test_images, cifar.test_labels)
    assert measured.accuracy == pytest.approx(report["test_accuracy"], abs=1e-9)


def test_load_initial_weights_preact_into_resnet_names_both(tmp_path: Path) -> None:
    path = tmp_path / "preact.pt"
    torch.save(build_model("preact_resnet", 8).state_dict(), path)
    with pytest.raises(IncompatibleWeightsError, match="does not fit a resnet-8 with 10 classes"):
        load_initial_weights(build_model("resnet", 8), path)
    vgg = build_model("vgg", 11)
    with pytest.raises(IncompatibleWeightsError, match="does not fit a vgg-11 with 10 classes"):
        load_initial_weights(vgg, path)
