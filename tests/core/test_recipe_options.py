"""The Keras reproduction's options (issue 12): each changes what it claims, defaults unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.spec import TrainConfig
from core.trainer.data import GLOBAL_STD_EPSILON, global_statistics, normalization_statistics
from core.trainer.layers import BN_EPS, configure_batch_norm
from core.trainer.models import build_model, set_normalization
from core.trainer.optim import build_optimizer, kernel_parameters
from core.trainer.schedule import learning_rate, warmup_enabled

STEPS = 391  # batches per epoch: 50,000 images at batch 128


def _keras_resnet(**overrides: object) -> TrainConfig:
    values: dict[str, object] = {
        "architecture": "preact_resnet",
        "lr_schedule": "step",
        "step_epochs": 20,
        "step_gamma": 0.1,
        "lr_decay": 1e-4,
        "warmup": "off",
    }
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("epoch", "batch", "scheduled"),
    [(0, 0, 0.1), (0, 1, 0.1), (0, 390, 0.1), (19, 200, 0.1), (20, 0, 0.01), (45, 17, 0.001)],
)
def test_learning_rate_time_decay_matches_keras_formula(
    epoch: int, batch: int, scheduled: float
) -> None:
    # Keras: lr_epoch / (1 + decay x iterations), iterations = steps taken before this one.
    config = _keras_resnet()
    iterations = epoch * STEPS + batch
    expected = scheduled / (1 + 1e-4 * iterations)
    got = learning_rate(config, epoch=epoch, batch=batch, batches_per_epoch=STEPS, warming_up=False)
    assert got == pytest.approx(expected, rel=1e-12)


def test_learning_rate_without_decay_is_the_schedule() -> None:
    config = _keras_resnet(lr_decay=0.0)
    assert learning_rate(config, epoch=45, batch=17, batches_per_epoch=STEPS, warming_up=False) == (
        pytest.approx(0.001)
    )
    assert TrainConfig().lr_decay == 0.0  # the paper's recipe has none


def test_learning_rate_step_factor_and_period_are_options() -> None:
    vgg = _keras_resnet(architecture="vgg_keras", depth=16, step_gamma=0.5, lr_decay=0.0)
    rates = [
        learning_rate(vgg, epoch=e, batch=0, batches_per_epoch=STEPS, warming_up=False)
        for e in (0, 19, 20, 40, 59, 60)
    ]
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.025, 0.0125])
    every_ten = dataclasses.replace(vgg, step_epochs=10)
    assert learning_rate(
        every_ten, epoch=10, batch=0, batches_per_epoch=STEPS, warming_up=False
    ) == pytest.approx(0.05)


def _train_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    generator = torch.Generator().manual_seed(3)
    model.train()
    for _ in range(steps):
        images = torch.rand(4, 3, 32, 32, generator=generator)
        labels = torch.randint(0, 10, (4,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_build_optimizer_nesterov_steps_like_torch_sgd_nesterov() -> None:
    torch.manual_seed(0)
    ours, reference, classic = (build_model("resnet", 8) for _ in range(3))
    reference.load_state_dict(ours.state_dict())
    classic.load_state_dict(ours.state_dict())
    config = TrainConfig(nesterov=True, learning_rate=0.05, momentum=0.9, weight_decay=1e-3)
    optimizer = build_optimizer(ours, config)
    assert all(group["nesterov"] for group in optimizer.param_groups)
    _train_steps(ours, optimizer, 3)
    torch_sgd = torch.optim.SGD(
        reference.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True
    )
    _train_steps(reference, torch_sgd, 3)
    for (name, mine), theirs in zip(ours.named_parameters(), reference.parameters(), strict=True):
        assert torch.allclose(mine, theirs, rtol=0, atol=1e-6), name
    # Plain momentum takes other steps: the option changes something.
    _train_steps(classic, build_optimizer(classic, dataclasses.replace(config, nesterov=False)), 3)
    nesterov_run, plain_run = dict(ours.named_parameters()), dict(classic.named_parameters())
    assert not torch.allclose(
        plain_run["conv1.weight"], nesterov_run["conv1.weight"], rtol=0, atol=1e-6
    )


def test_config_nesterov_needs_momentum() -> None:
    with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
        TrainConfig(nesterov=True, momentum=0.0)


def _decay_only_step(weight_decay_on: str) -> tuple[dict[str, torch.Tensor], torch.nn.Module]:
    """One SGD step with zero gradients: only weight decay moves a parameter."""
    torch.manual_seed(0)
    model = build_model("preact_resnet", 8)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    config = TrainConfig(
        learning_rate=0.5, momentum=0.0, weight_decay=0.1, weight_decay_on=weight_decay_on
    )
    optimizer = build_optimizer(model, config)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimizer.step()
    return before, model


def test_build_optimizer_kernels_only_leaves_batch_norm_and_biases_undecayed() -> None:
    before, model = _decay_only_step("kernels")
    kernels = kernel_parameters(model)
    assert "conv1.weight" in kernels and "fc.weight" in kernels and "fc.bias" not in kernels
    assert "bn_final.weight" not in kernels
    for name, parameter in model.named_parameters():
        if name in kernels:  # w - lr x weight_decay x w
            assert torch.allclose(parameter, before[name] * (1 - 0.5 * 0.1)), name
        else:
            assert torch.equal(parameter, before[name]), name


def test_build_optimizer_all_decays_batch_norm_too() -> None:
    before, model = _decay_only_step("all")
    after = dict(model.named_parameters())
    assert torch.allclose(after["bn_final.weight"], before["bn_final.weight"] * 0.95)
    assert torch.allclose(after["conv1.weight"], before["conv1.weight"] * 0.95)


def test_global_statistics_one_mean_and_std_over_everything() -> None:
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (7, 3, 32, 32), dtype=torch.uint8, generator=generator)
    images[:, 0] //= 4  # channels with different statistics
    mean, std = global_statistics(images, chunk=3)
    values = images.numpy().astype(np.float64) / 255.0
    assert mean.tolist() == pytest.approx([values.mean()] * 3, rel=1e-6)
    assert std.tolist() == pytest.approx([values.std() + GLOBAL_STD_EPSILON] * 3, rel=1e-6)
    per_channel, _ = normalization_statistics(images, "per_channel")
    assert per_channel[0] < per_channel[1]  # the default stays per channel
    # Inside the model: the training images come out with mean 0 and std 1 over everything.
    model = build_model("vgg_keras", 11)
    set_normalization(model, mean, std)
    normalized = model.normalize(images).double()
    assert float(normalized.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(normalized.std(unbiased=False)) == pytest.approx(1.0, rel=1e-5)


def test_configure_batch_norm_sets_momentum_and_eps_and_eps_travels_with_weights() -> None:
    model = build_model("preact_resnet", 8).eval()
    configure_batch_norm(model, momentum=0.01, eps=1e-3)  # Keras' momentum 0.99, epsilon 1e-3
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.momentum == 0.01 and m.eps == 1e-3 for m in norms)
    with torch.no_grad():
        for m in norms:
            assert m.running_var is not None
            m.running_var.fill_(1e-3)  # where eps matters
    images = torch.rand(2, 3, 32, 32)
    state = model.state_dict()
    assert float(state[BN_EPS]) == 1e-3
    loaded = build_model("preact_resnet", 8).eval()
    loaded.load_state_dict(state)
    assert all(m.eps == 1e-3 for m in loaded.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))
    # Weights saved without the buffer had the default eps: loading them restores it.
    configure_batch_norm(model, eps=1e-5)
    assert BN_EPS not in model.state_dict()
    loaded.load_state_dict(model.state_dict())
    assert all(m.eps == 1e-5 for m in loaded.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_defaults_stay_the_papers() -> None:
    config = TrainConfig()
    assert (config.nesterov, config.weight_decay_on, config.augmentation) == (
        False,
        "all",
        "crop_flip",
    )
    assert (config.normalization, config.bn_momentum, config.bn_eps) == ("per_channel", 0.1, 1e-5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("augmentation", "mixup"),
        ("normalization", "batch"),
        ("weight_decay_on", "biases"),
        ("lr_decay", -1e-4),
        ("bn_momentum", 0.0),
        ("bn_eps", 0.0),
    ],
)
def test_config_rejects_bad_recipe_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("architecture", ["preact_resnet", "vgg", "vgg_keras"])
def test_config_rejects_projection_shortcut_where_there_is_none(architecture: str) -> None:
    depth = 16 if architecture.startswith("vgg") else 20
    with pytest.raises(ValueError, match="shortcut must be 'A' for architecture"):
        TrainConfig(architecture=architecture, depth=depth, shortcut="B")


def test_config_accepts_every_architecture_at_its_depths() -> None:
    for architecture, depth in (("preact_resnet", 110), ("vgg", 11), ("vgg_keras", 19)):
        assert TrainConfig(architecture=architecture, depth=depth).depth == depth
    with pytest.raises(ValueError, match="11, 13, 16, 19"):
        TrainConfig(architecture="vgg", depth=20)


def test_warmup_auto_only_for_the_papers_networks() -> None:
    assert warmup_enabled(TrainConfig(architecture="resnet", depth=110))
    assert not warmup_enabled(TrainConfig(architecture="preact_resnet", depth=110))
    assert warmup_enabled(TrainConfig(architecture="preact_resnet", depth=110, warmup="on"))
