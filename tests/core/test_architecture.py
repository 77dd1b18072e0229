"""core.architecture (torch-free facts the API prices and validates with) against the models."""

from __future__ import annotations

import pytest
import torch

from core.architecture import (
    ARCHITECTURES,
    VGG_CONVS,
    check_shortcut,
    depth_problem,
    parameter_count,
)
from core.trainer.models import build_model, count_parameters

VGG16_CIFAR = 14_728_266  # the common PyTorch CIFAR VGG-16 with BN, 10 classes (issue 10)
VGG16_KERAS = 14_991_946  # the Keras reproduction's VGG-16: + dense 512 and its BN (issue 12)


@pytest.mark.parametrize("depth", [8, 14, 20, 32, 44, 56, 110])
def test_parameter_count_preact_resnet_equals_resnet(depth: int) -> None:
    # Issue 12: the Keras table's counts equal the paper's, though the networks differ.
    preact = build_model("preact_resnet", depth)
    resnet = build_model("resnet", depth)
    assert count_parameters(preact) == count_parameters(resnet)
    assert parameter_count(depth, architecture="preact_resnet") == count_parameters(preact)


def test_parameter_count_preact_resnet_1202_formula_equals_resnet() -> None:
    assert parameter_count(1202, architecture="preact_resnet") == parameter_count(1202)


def test_count_parameters_vgg16_both_forms() -> None:
    assert count_parameters(build_model("vgg", 16)) == VGG16_CIFAR
    assert count_parameters(build_model("vgg_keras", 16)) == VGG16_KERAS


@pytest.mark.parametrize("architecture", ["vgg", "vgg_keras"])
@pytest.mark.parametrize("depth", sorted(VGG_CONVS))
@pytest.mark.parametrize("num_classes", [10, 100])
def test_parameter_count_formula_matches_built_vgg(
    architecture: str, depth: int, num_classes: int
) -> None:
    model = build_model(architecture, depth, num_classes)
    assert parameter_count(depth, num_classes, architecture=architecture) == count_parameters(model)


@pytest.mark.parametrize(
    ("architecture", "depth", "num_classes", "shortcut"),
    [
        ("resnet", 20, 10, "B"),
        ("plain", 20, 10, "B"),  # a plain net has no shortcuts: "B" adds nothing
        ("preact_resnet", 32, 100, "A"),
    ],
)
def test_parameter_count_formula_matches_built_model_with_architecture(
    architecture: str, depth: int, num_classes: int, shortcut: str
) -> None:
    model = build_model(architecture, depth, num_classes, shortcut)
    count = parameter_count(depth, num_classes, shortcut, architecture=architecture)
    assert count == count_parameters(model)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_build_model_every_architecture_gives_logits(architecture: str) -> None:
    depth = 11 if architecture.startswith("vgg") else 8
    model = build_model(architecture, depth, 100).eval()
    with torch.no_grad():
        assert model(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)).shape == (2, 100)


@pytest.mark.parametrize(
    ("architecture", "depth", "expected"),
    [
        ("resnet", 20, None),
        ("preact_resnet", 110, None),
        ("vgg", 16, None),
        ("vgg_keras", 19, None),
        ("resnet", 16, "6n+2"),
        ("preact_resnet", 21, "6n+2"),
        ("vgg", 20, "11, 13, 16, 19"),
        ("vgg_keras", 17, "11, 13, 16, 19"),
        ("vgg", True, "11, 13, 16, 19"),
        ("unknown", 3, None),  # the architecture's own check names that field
    ],
)
def test_depth_problem_names_allowed_depths(
    architecture: str, depth: object, expected: str | None
) -> None:
    problem = depth_problem(architecture, depth)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


@pytest.mark.parametrize("architecture", ["vgg", "vgg_keras"])
def test_build_model_vgg_rejects_resnet_depth(architecture: str) -> None:
    with pytest.raises(ValueError, match="11, 13, 16, 19"):
        build_model(architecture, 20)


@pytest.mark.parametrize("architecture", ["preact_resnet", "vgg", "vgg_keras"])
def test_check_shortcut_b_only_where_projections_exist(architecture: str) -> None:
    with pytest.raises(ValueError, match="shortcut must be 'A'"):
        check_shortcut(architecture, "B")
    with pytest.raises(ValueError, match="shortcut must be 'A'"):
        build_model(architecture, 11 if architecture.startswith("vgg") else 20, shortcut="B")
