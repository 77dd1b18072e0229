"""The optimizer, built in one place: SGD with (Nesterov) momentum and L2 weight decay on all
parameters or on the kernels only.

Weight decay here is PyTorch's: weight_decay x w added to the gradient. Keras' l2(x)
regulariser adds x * ||w||^2 to the loss, a gradient of 2x * w: l2(2e-4) is weight_decay 4e-4.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.spec import TrainConfig

_KERNEL_LAYERS = (nn.Conv2d, nn.Linear)


def kernel_parameters(model: nn.Module) -> set[str]:
    """Names of the convolution and dense weights (Keras' kernels); biases and BN are not."""
    return {
        f"{name}.weight" if name else "weight"
        for name, module in model.named_modules()
        if isinstance(module, _KERNEL_LAYERS)
    }


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD over the trainable parameters; the rate is set by the loop at every step."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if config.weight_decay_on == "kernels":
        kernels = kernel_parameters(model)
        decayed = [p for n, p in trainable if n in kernels]
        exempt = [p for n, p in trainable if n not in kernels]
        groups: list[dict[str, Any]] = [
            {"params": decayed, "weight_decay": config.weight_decay},
            {"params": exempt, "weight_decay": 0.0},
        ]
    else:
        groups = [{"params": [p for _, p in trainable], "weight_decay": config.weight_decay}]
    # On CUDA one fused kernel updates every parameter (issue 13): a CIFAR ResNet has ~170
    # small tensors, each a separate launch otherwise. Same arithmetic, in another order.
    fused = bool(trainable) and all(p.is_cuda for _, p in trainable)
    return torch.optim.SGD(
        groups,
        lr=config.learning_rate,
        momentum=config.momentum,
        nesterov=config.nesterov,
        fused=True if fused else None,
    )
