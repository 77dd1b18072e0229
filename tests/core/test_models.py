from __future__ import annotations

import pytest
import torch

from core.architecture import parameter_count
from core.trainer.models import build_model, count_parameters

PAPER_COUNTS = {
    20: 269_722,
    32: 464_154,
    44: 658_586,
    56: 853_018,
    110: 1_727_962,
    1202: 19_421_274,
}
OPTION_B_EXTRA = 2_752  # 1x1 projections + BN at the two stage transitions


@pytest.mark.parametrize("depth", sorted(PAPER_COUNTS))
@pytest.mark.parametrize("architecture", ["resnet", "plain"])
def test_count_parameters_matches_paper_table(architecture: str, depth: int) -> None:
    model = build_model(architecture, depth)
    assert count_parameters(model) == PAPER_COUNTS[depth]


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_count_parameters_option_b_adds_projections(depth: int) -> None:
    model = build_model("resnet", depth, shortcut="B")
    assert count_parameters(model) == PAPER_COUNTS[depth] + OPTION_B_EXTRA


@pytest.mark.parametrize(
    ("depth", "num_classes", "shortcut"),
    [(8, 10, "A"), (20, 100, "A"), (44, 100, "B"), (110, 10, "B")],
)
def test_parameter_count_formula_matches_built_model(
    depth: int, num_classes: int, shortcut: str
) -> None:
    # The API prices jobs with the torch-free formula; it must count what the trainer builds.
    model = build_model("resnet", depth, num_classes=num_classes, shortcut=shortcut)
    assert parameter_count(depth, num_classes, shortcut) == count_parameters(model)


def test_forward_shapes_through_every_stage() -> None:
    model = build_model("resnet", 20, num_classes=100).eval()
    shapes: dict[str, tuple[int, ...]] = {}
    for name in ("conv1", "layer1", "layer2", "layer3", "fc"):
        module = getattr(model, name)
        module.register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
    with torch.no_grad():
        model(torch.rand(2, 3, 32, 32))
    assert shapes == {
        "conv1": (2, 16, 32, 32),
        "layer1": (2, 16, 32, 32),
        "layer2": (2, 32, 16, 16),
        "layer3": (2, 64, 8, 8),
        "fc": (2, 100),
    }


@pytest.mark.parametrize("depth", [8, 14, 26])
def test_build_model_any_six_n_plus_two(depth: int) -> None:
    model = build_model("resnet", depth)
    assert len(model.layer1) == len(model.layer2) == len(model.layer3) == (depth - 2) // 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"architecture": "resnet", "depth": 21}, "6n\\+2"),
        ({"architecture": "resnet", "depth": 2}, "6n\\+2"),
        ({"architecture": "densenet", "depth": 20}, "resnet, plain"),
        ({"architecture": "resnet", "depth": 20, "shortcut": "C"}, "A, B"),
        ({"architecture": "resnet", "depth": 20, "num_classes": 0}, "num_classes"),
    ],
)
def test_build_model_invalid_arguments_raise_value_error(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_model(**kwargs)  # type: ignore[arg-type]


def test_state_dict_holds_normalisation_buffers() -> None:
    model = build_model("resnet", 8)
    with torch.no_grad():
        model.mean.copy_(torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1))
        model.std.copy_(torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1))
    state = model.state_dict()
    assert state["mean"].flatten().tolist() == pytest.approx([0.4, 0.5, 0.6])
    fresh = build_model("resnet", 8)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.std, model.std)
    images = torch.rand(4, 3, 32, 32)
    model.eval()
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(images), model(images))
        normalised = (images - model.mean) / model.std
        model.mean.zero_()
        model.std.fill_(1.0)
        assert torch.allclose(model(normalised), fresh(images), atol=1e-5)


def test_forward_uint8_equals_scaled_floats() -> None:
    model = build_model("resnet", 8).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.allclose(model(images), model(images.float() / 255), atol=1e-6)


def test_load_state_dict_plain_into_resnet_fails() -> None:
    plain = build_model("plain", 8)
    with pytest.raises(RuntimeError, match="plain network"):
        build_model("resnet", 8).load_state_dict(plain.state_dict())


def test_plain_net_has_no_shortcut_addition() -> None:
    plain, resnet = build_model("plain", 8), build_model("resnet", 8)
    resnet.load_state_dict({**plain.state_dict(), "residual": torch.tensor(True)})
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(plain.eval()(images), resnet.eval()(images))


def test_build_model_he_initialisation() -> None:
    torch.manual_seed(0)
    model = build_model("resnet", 56)
    weight = model.layer3[0].conv2.weight  # fan_out = 64 * 3 * 3
    assert weight.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
