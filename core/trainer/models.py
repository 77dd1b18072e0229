"""The CIFAR ResNets and plain nets of He et al. 2016, section 4.2 (depth 6n+2)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.architecture import ARCHITECTURES, SHORTCUTS, blocks_per_stage

CLASSIFIER = "fc"  # the layer frozen_base trains (and may resize); everything else is the base
STAGE_WIDTHS = (16, 32, 64)  # filters on 32x32, 16x16 and 8x8 maps (section 4.2)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by the stride and zero-pad the new channels; no parameters."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        # Pad half the new channels before and half after, as the common reference code does;
        # either placement gives the same function class.
        half = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; the identity (or a projection) added when residual."""

    def __init__(
        self, in_channels: int, channels: int, stride: int, *, residual: bool, shortcut: str
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.residual = residual
        self.shortcut: nn.Module = nn.Identity()
        if residual and (stride != 1 or in_channels != channels):
            if shortcut == "A":
                self.shortcut = ZeroPadShortcut(stride, channels - in_channels)
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(channels),
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + self.shortcut(x)
        return F.relu(out, inplace=True)  # batch norm keeps its input, not its output


class CifarResNet(nn.Module):
    """conv3x3(16) -> 3 stages of n blocks (16, 32, 64 filters) -> global average pool -> fc.

    The per-channel mean and std of the training images are buffers (saved in the state_dict),
    so the network takes raw images: floats in [0, 1] or uint8 in [0, 255], N x 3 x 32 x 32.
    """

    mean: torch.Tensor
    std: torch.Tensor
    residual: torch.Tensor

    def __init__(self, depth: int, num_classes: int, *, residual: bool, shortcut: str) -> None:
        super().__init__()
        n = blocks_per_stage(depth)
        # A ResNet with option A and its plain twin have the same parameter names; this buffer
        # tells their weights files apart (checked in _load_from_state_dict).
        self.register_buffer("residual", torch.tensor(residual))
        # Identity until the trainer sets the training set's statistics (set_normalization).
        self.register_buffer("mean", torch.zeros(1, 3, 1, 1))
        self.register_buffer("std", torch.ones(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, STAGE_WIDTHS[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(STAGE_WIDTHS[0])
        stages = []
        in_channels = STAGE_WIDTHS[0]
        for index, channels in enumerate(STAGE_WIDTHS):
            blocks = []
            for block in range(n):
                # The first block of stages 2 and 3 halves the map with a stride-2 convolution.
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(
                    BasicBlock(in_channels, channels, stride, residual=residual, shortcut=shortcut)
                )
                in_channels = channels
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(STAGE_WIDTHS[-1], num_classes)
        for module in self.modules():
            init_module(module)

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
        stored = state_dict.get(prefix + "residual")
        if isinstance(stored, torch.Tensor) and bool(stored) != bool(self.residual):
            kinds = {True: "resnet", False: "plain"}
            error_msgs.append(
                f"the weights are of a {kinds[bool(stored)]} network, "
                f"this model is a {kinds[bool(self.residual)]} network"
            )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        x = (x - self.mean) / self.std
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def init_module(module: nn.Module) -> None:
    """He et al. 2015 (Kaiming normal) initialisation, as section 4.2 prescribes."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def build_model(
    architecture: str, depth: int, num_classes: int = 10, shortcut: str = "A"
) -> CifarResNet:
    """A CIFAR network of depth 6n+2: "resnet" (identity shortcuts) or "plain" (none).

    shortcut "A" (zero-padding, parameter-free) or "B" (1x1 projection + BN where the shape
    changes) only matters for "resnet"; a plain net has no shortcuts at all.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}"
        )
    if shortcut not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    return CifarResNet(depth, num_classes, residual=architecture == "resnet", shortcut=shortcut)


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; buffers such as the normalisation statistics excluded."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def set_normalization(model: CifarResNet, mean: torch.Tensor, std: torch.Tensor) -> None:
    """Store the per-channel statistics (of images scaled to [0, 1]) the network normalises with."""
    with torch.no_grad():
        model.mean.copy_(mean.reshape(1, 3, 1, 1))
        model.std.copy_(std.reshape(1, 3, 1, 1))
