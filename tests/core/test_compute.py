"""The torch-free cost formulas against the built networks: FLOPs counted by
torch.utils.flop_counter, the state_dict's bytes, the tensors autograd saves for backward."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from core.compute import activation_bytes, forward_flops, training_flops, weights_bytes
from core.trainer.models import build_model

NETWORKS = [
    ("resnet", 20, "A", 10),
    ("resnet", 32, "A", 10),
    ("resnet", 56, "B", 100),
    ("plain", 8, "A", 10),
    ("plain", 20, "B", 100),
]


@pytest.mark.parametrize(("architecture", "depth", "shortcut", "classes"), NETWORKS)
def test_forward_flops_match_flop_counter(
    architecture: str, depth: int, shortcut: str, classes: int
) -> None:
    model = build_model(architecture, depth, classes, shortcut).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.rand(4, 3, 32, 32))
    assert forward_flops(architecture, depth, classes, shortcut) == counter.get_total_flops() // 4
    assert (
        training_flops(architecture, depth, classes, shortcut) == 3 * counter.get_total_flops() // 4
    )


def test_resnet20_is_about_41_million_multiply_adds() -> None:
    # He et al. 2016 quote no CIFAR figure; the commonly cited one for ResNet-20 is 41 M MACs.
    assert forward_flops("resnet", 20) == pytest.approx(2 * 40.55e6, rel=0.01)


@pytest.mark.parametrize(("architecture", "depth", "shortcut", "classes"), NETWORKS)
def test_weights_bytes_match_the_state_dict(
    architecture: str, depth: int, shortcut: str, classes: int
) -> None:
    state = build_model(architecture, depth, classes, shortcut).state_dict()
    actual = sum(t.numel() * t.element_size() for t in state.values())
    assert weights_bytes(architecture, depth, classes, shortcut) == actual


@pytest.mark.parametrize(("architecture", "depth", "shortcut", "classes"), NETWORKS)
def test_activation_bytes_match_what_autograd_saves(
    architecture: str, depth: int, shortcut: str, classes: int
) -> None:
    model = build_model(architecture, depth, classes, shortcut).train()
    kept: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(torch.rand(16, 3, 32, 32)).sum().backward()
    weights = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    saved = sum(size for pointer, size in kept.items() if pointer not in weights)
    assert activation_bytes(architecture, depth, 16, classes, shortcut) == pytest.approx(
        saved, rel=0.05
    )


def test_other_architectures_have_no_formula() -> None:
    assert forward_flops("vgg", 16) is None
    assert activation_bytes("vgg", 16, 128) is None
