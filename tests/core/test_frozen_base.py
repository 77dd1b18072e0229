from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.trainer.errors import IncompatibleWeightsError
from core.trainer.fit import fit
from core.trainer.models import build_model
from tests.core.conftest import TinyConfig, assert_same_tensors


@pytest.fixture(scope="module")
def base_weights(tmp_path_factory: pytest.TempPathFactory, cifar10_dir: Path) -> Path:
    """A depth-8 ResNet trained one epoch on the generated CIFAR-10."""
    from core.spec import TrainConfig

    config = TrainConfig(depth=8, epochs=1, batch_size=50, data_dir=str(cifar10_dir), device="cpu")
    path = tmp_path_factory.mktemp("weights") / "base.pt"
    torch.save(fit(config).state_dict, path)
    return path


def _base_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


def test_fit_frozen_base_changes_classifier_only(
    tiny_config: TinyConfig, base_weights: Path
) -> None:
    before = torch.load(base_weights, weights_only=True)
    result = fit(tiny_config(train_mode="frozen_base", init_weights=str(base_weights), epochs=2))
    # Every base parameter and batch-norm buffer (running stats, counters) is bitwise unchanged.
    assert_same_tensors(_base_only(result.state_dict), _base_only(before))
    assert not torch.equal(result.state_dict["fc.weight"], before["fc.weight"])
    trainable = [n for n, p in result.model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]


def test_fit_frozen_base_cifar10_weights_to_cifar100_head(
    tiny_config: TinyConfig, base_weights: Path, cifar100_dir: Path
) -> None:
    before = torch.load(base_weights, weights_only=True)
    config = tiny_config(
        dataset="cifar100",
        data_dir=str(cifar100_dir),
        train_mode="frozen_base",
        init_weights=str(base_weights),
        epochs=1,
    )
    result = fit(config)
    assert result.state_dict["fc.weight"].shape == (100, 64)
    assert_same_tensors(_base_only(result.state_dict), _base_only(before))
    assert len(result.per_class_accuracy) == 100
    model = build_model("resnet", 8, num_classes=100)
    model.load_state_dict(result.state_dict)


def test_fit_end_to_end_from_init_weights_fine_tunes_everything(
    tiny_config: TinyConfig, base_weights: Path
) -> None:
    before = torch.load(base_weights, weights_only=True)
    result = fit(tiny_config(init_weights=str(base_weights), epochs=1))
    assert not torch.equal(result.state_dict["conv1.weight"], before["conv1.weight"])
    # The base keeps the input normalisation it was trained with.
    assert torch.equal(result.state_dict["mean"], before["mean"])


def test_fit_init_weights_other_depth_raises_incompatible(
    tiny_config: TinyConfig, tmp_path: Path
) -> None:
    path = tmp_path / "resnet14.pt"
    torch.save(build_model("resnet", 14).state_dict(), path)
    with pytest.raises(IncompatibleWeightsError, match=r"resnet-8 with 10 classes.*unexpected"):
        fit(tiny_config(train_mode="frozen_base", init_weights=str(path)))


def test_fit_init_weights_plain_into_resnet_raises_incompatible(
    tiny_config: TinyConfig, tmp_path: Path
) -> None:
    path = tmp_path / "plain8.pt"
    torch.save(build_model("plain", 8).state_dict(), path)
    with pytest.raises(IncompatibleWeightsError, match="plain net"):
        fit(tiny_config(train_mode="frozen_base", init_weights=str(path)))


def test_fit_init_weights_option_b_into_option_a_raises_incompatible(
    tiny_config: TinyConfig, tmp_path: Path
) -> None:
    path = tmp_path / "resnet8b.pt"
    torch.save(build_model("resnet", 8, shortcut="B").state_dict(), path)
    with pytest.raises(IncompatibleWeightsError, match="shortcut"):
        fit(tiny_config(train_mode="frozen_base", init_weights=str(path)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a torch file at all", "cannot read"),
        ([1, 2, 3], "not a state_dict"),
        ({"weight": "text"}, "not a state_dict"),
    ],
)
def test_fit_init_weights_not_a_state_dict_raises_incompatible(
    tiny_config: TinyConfig, tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "weights.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(IncompatibleWeightsError, match=message):
        fit(tiny_config(train_mode="frozen_base", init_weights=str(path)))


def test_fit_init_weights_missing_file_raises_incompatible(
    tiny_config: TinyConfig, tmp_path: Path
) -> None:
    with pytest.raises(IncompatibleWeightsError, match="does not exist"):
        fit(tiny_config(init_weights=str(tmp_path / "absent.pt")))
