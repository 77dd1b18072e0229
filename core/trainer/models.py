"""The CIFAR ResNets and plain nets of He et al. 2016, section 4.2 (depth 6n+2), and
build_model for every architecture (pre-activation ResNets in preact.py, VGG in vgg.py)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.architecture import blocks_per_stage, check_architecture, check_depth, check_shortcut
from core.trainer.layers import CLASSIFIER, CifarNet, init_module
from core.trainer.preact import PreActResNet
from core.trainer.vgg import Vgg

__all__ = ["CLASSIFIER", "CifarNet", "CifarResNet", "build_model", "init_module"]

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


class CifarResNet(CifarNet):
    """conv3x3(16) -> 3 stages of n blocks (16, 32, 64 filters) -> global average pool -> fc.

    Normalisation inside the model (CifarNet): it takes raw images.
    """

    residual: torch.Tensor

    def __init__(self, depth: int, num_classes: int, *, residual: bool, shortcut: str) -> None:
        super().__init__("resnet" if residual else "plain", depth)
        n = blocks_per_stage(depth)
        # A ResNet with option A and its plain twin have the same parameter names; this buffer
        # tells their weights files apart (checked in _load_from_state_dict).
        self.register_buffer("residual", torch.tensor(residual))
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
        x = F.relu(self.bn1(self.conv1(self.normalize(x))), inplace=True)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def build_model(
    architecture: str, depth: int, num_classes: int = 10, shortcut: str = "A"
) -> CifarNet:
    """A CIFAR network; core.architecture says which depths each architecture allows.

    "resnet" (identity shortcuts) and "plain" (none), depth 6n+2: shortcut "A" (zero-padding,
    parameter-free) or "B" (1x1 projection + BN where the shape changes) only matters for
    "resnet". "preact_resnet" (6n+2, shortcut "A" only: pooling + zero-padding), "vgg" and
    "vgg_keras" (11, 13, 16, 19; no shortcuts).
    """
    check_architecture(architecture)
    check_depth(architecture, depth)
    check_shortcut(architecture, shortcut)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if architecture == "preact_resnet":
        return PreActResNet(depth, num_classes)
    if architecture in ("vgg", "vgg_keras"):
        return Vgg(depth, num_classes, keras=architecture == "vgg_keras")
    return CifarResNet(depth, num_classes, residual=architecture == "resnet", shortcut=shortcut)


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; buffers such as the normalisation statistics excluded."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def set_normalization(model: CifarNet, mean: torch.Tensor, std: torch.Tensor) -> None:
    """Store the statistics (of images scaled to [0, 1], one per channel) it normalises with."""
    with torch.no_grad():
        model.mean.copy_(mean.reshape(1, 3, 1, 1))
        model.std.copy_(std.reshape(1, 3, 1, 1))
