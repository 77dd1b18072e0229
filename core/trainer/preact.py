"""Pre-activation ResNets (He et al. 2016, "Identity Mappings in Deep Residual Networks") as the
Keras reproduction of issue 12 builds them for CIFAR: depth 6n+2, stages of 16, 32, 64 filters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.architecture import blocks_per_stage
from core.trainer.layers import CifarNet, init_module

STAGE_WIDTHS = (16, 32, 64)


class PoolPadShortcut(nn.Module):
    """Where the width doubles: 2x2 average pooling with stride 2, zero-padded new channels."""

    def __init__(self, extra_channels: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, 2)
        # Half the new channels before and half after, as the ResNet's option A (models.py).
        half = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))


class PreActUnit(nn.Module):
    """BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv3x3, added to the shortcut."""

    def __init__(
        self, in_channels: int, channels: int, stride: int, *, shortcut_from_preactivation: bool
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = PoolPadShortcut(channels - in_channels)
        # The first unit follows the bare stem convolution: its shortcut starts after BN-ReLU.
        self.shortcut_from_preactivation = shortcut_from_preactivation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = F.relu(self.bn1(x))  # not in place: x may still be the shortcut
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out), inplace=True))
        return out + self.shortcut(pre if self.shortcut_from_preactivation else x)


class PreActResNet(CifarNet):
    """conv3x3(16) -> 3 stages of n pre-activation units -> BN -> ReLU -> global pool -> fc.

    The fc is the Keras model's 1x1 convolution with bias on the pooled features. Same number
    of trainable parameters as the ResNet of the same depth (core.architecture).
    """

    def __init__(self, depth: int, num_classes: int) -> None:
        super().__init__("preact_resnet", depth)
        n = blocks_per_stage(depth)
        self.conv1 = nn.Conv2d(3, STAGE_WIDTHS[0], 3, padding=1, bias=False)
        stages = []
        in_channels = STAGE_WIDTHS[0]
        for index, channels in enumerate(STAGE_WIDTHS):
            units = []
            for unit in range(n):
                stride = 2 if index > 0 and unit == 0 else 1
                first = index == 0 and unit == 0
                units.append(
                    PreActUnit(in_channels, channels, stride, shortcut_from_preactivation=first)
                )
                in_channels = channels
            stages.append(nn.Sequential(*units))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn_final = nn.BatchNorm2d(STAGE_WIDTHS[-1])
        self.fc = nn.Linear(STAGE_WIDTHS[-1], num_classes)
        for module in self.modules():
            init_module(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.normalize(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.relu(self.bn_final(x), inplace=True)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)
