"""torch.compile for the training and evaluation steps (issue 13).

On CUDA the model is compiled with CUDA graphs ("reduce-overhead"): a CIFAR ResNet step issues
hundreds of small kernels and is bound by their launches, which a graph replays at once. Shapes
are static (`dynamic=False`): an epoch has at most two training batch shapes (the full batch and
the last, smaller one) and two evaluation shapes, each compiled once during the first epoch, so
nothing recompiles later. The learning rate lives in the optimizer, which is not compiled, so
its changes recompile nothing. The state dict is taken from the plain model, never the wrapper.
"""

from __future__ import annotations

import torch
from torch import nn

# Below this many epochs "auto" does not compile: compiling ResNet-56's training step with CUDA
# graphs takes on the order of a minute, while a compiled epoch on a current GPU saves a few
# seconds (an estimate from the kernel counts of issue 13; see docs/BENCHMARKS.md).
AUTO_MIN_EPOCHS = 30


def compile_enabled(setting: str, device: torch.device, epochs: int) -> bool:
    """`on`, `off`, or `auto`: only CUDA runs long enough to repay the compile time."""
    if setting in ("on", "off"):
        return setting == "on"
    return device.type == "cuda" and epochs >= AUTO_MIN_EPOCHS


def compile_model(model: nn.Module, device: torch.device) -> nn.Module:
    mode = "reduce-overhead" if device.type == "cuda" else "default"
    compiled: nn.Module = torch.compile(model, mode=mode, dynamic=False)  # type: ignore[assignment]
    return compiled
