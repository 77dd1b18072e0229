"""What every CIFAR network here shares: normalisation inside the model, He initialisation, and
batch-norm settings (eps travels with the weights, since it changes what the network computes).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.spec.job_settings import JobSettings

CLASSIFIER = "fc"  # the layer frozen_base trains (and may resize); everything else is the base
DEFAULT_BN_EPS = JobSettings.bn_eps  # the declared default, PyTorch's 1e-5
BN_EPS = "bn_eps"  # buffer name, present only when a network's BN eps is not the default
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


class CifarNet(nn.Module):
    """Takes raw images: floats in [0, 1] or uint8 in [0, 255], N x 3 x 32 x 32.

    The training set's mean and std are buffers (saved in the state_dict), per channel or one
    value repeated over the three channels (global normalisation); set_normalization sets them.
    """

    mean: torch.Tensor
    std: torch.Tensor
    architecture: str  # the name build_model knows it by
    depth: int

    def __init__(self, architecture: str, depth: int) -> None:
        super().__init__()
        self.architecture = architecture
        self.depth = depth
        # Identity until the trainer sets the training set's statistics (set_normalization).
        self.register_buffer("mean", torch.zeros(1, 3, 1, 1))
        self.register_buffer("std", torch.ones(1, 3, 1, 1))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        return (x - self.mean) / self.std

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # Weights trained with another BN eps bring it along; weights without one had the default.
        stored = state_dict.get(prefix + BN_EPS)
        eps = float(stored) if isinstance(stored, torch.Tensor) else DEFAULT_BN_EPS
        configure_batch_norm(self, eps=eps)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def configure_batch_norm(
    model: CifarNet, *, momentum: float | None = None, eps: float | None = None
) -> None:
    """Set every batch norm's momentum (PyTorch convention) and/or eps.

    A non-default eps is recorded in the buffer BN_EPS, so that build_model(...) followed by
    load_state_dict restores it (see CifarNet._load_from_state_dict).
    """
    for module in model.modules():
        if isinstance(module, _BATCH_NORMS):
            if momentum is not None:
                module.momentum = momentum
            if eps is not None:
                module.eps = eps
    if eps is None:
        return
    if eps == DEFAULT_BN_EPS:
        model._buffers.pop(BN_EPS, None)
    else:
        model.register_buffer(
            BN_EPS, torch.tensor(eps, dtype=torch.float64, device=model.mean.device)
        )


def init_module(module: nn.Module) -> None:
    """He et al. 2015 (Kaiming normal) initialisation, as section 4.2 prescribes."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, _BATCH_NORMS):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def init_module_keras(module: nn.Module) -> None:
    """Keras' defaults: Glorot uniform kernels, zero biases, BN weight 1 and bias 0."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, _BATCH_NORMS):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
