"""VGG for CIFAR (Simonyan & Zisserman 2015, depth 11/13/16/19) in two forms.

"vgg" (issue 10): the common PyTorch CIFAR form: each 3x3 convolution (with bias) followed by
BN and ReLU, 2x2 max pooling after each of the five stages, a linear classifier on the 512
features (VGG-16, 10 classes: 14,728,266 trainable parameters).
"vgg_keras" (issue 12): the Keras reproduction's: convolution -> ReLU -> BN, dropout 0.3 after
the first convolution and 0.4 after every other one except the last of each stage; dropout 0.5,
dense 512 -> ReLU -> BN, dropout 0.5, then the classifier (VGG-16: 14,991,946); Keras' Glorot
initialisation.
"""

from __future__ import annotations

import torch
from torch import nn

from core.architecture import VGG_CONVS, VGG_KERAS_DENSE, VGG_WIDTHS
from core.trainer.layers import CifarNet, init_module, init_module_keras

FIRST_DROPOUT = 0.3  # Keras form: after the network's first convolution
CONV_DROPOUT = 0.4  # after the other convolutions but the last of each stage
HEAD_DROPOUT = 0.5  # before and after the dense layer
CLASSIFIER_STD = 0.01  # the CIFAR form's classifier weights (torchvision's VGG; issue 22)


def _features(depth: int, *, keras: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for convs, width in zip(VGG_CONVS[depth], VGG_WIDTHS, strict=True):
        for index in range(convs):
            conv = nn.Conv2d(in_channels, width, 3, padding=1)
            if keras:
                layers += [conv, nn.ReLU(inplace=True), nn.BatchNorm2d(width)]
                if index < convs - 1:
                    rate = FIRST_DROPOUT if in_channels == 3 else CONV_DROPOUT
                    layers.append(nn.Dropout(rate))
            else:
                layers += [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            in_channels = width
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Vgg(CifarNet):
    """features (five stages down to 1x1 x 512) -> [Keras form: head] -> fc."""

    def __init__(self, depth: int, num_classes: int, *, keras: bool) -> None:
        super().__init__("vgg_keras" if keras else "vgg", depth)
        if depth not in VGG_CONVS:
            raise ValueError(f"VGG depth must be one of {', '.join(map(str, VGG_CONVS))}")
        self.features = _features(depth, keras=keras)
        features = VGG_WIDTHS[-1]
        self.head: nn.Module = nn.Identity()
        if keras:
            self.head = nn.Sequential(
                nn.Dropout(HEAD_DROPOUT),
                nn.Linear(features, VGG_KERAS_DENSE),
                nn.ReLU(inplace=True),
                nn.BatchNorm1d(VGG_KERAS_DENSE),
                nn.Dropout(HEAD_DROPOUT),
            )
            features = VGG_KERAS_DENSE
        self.fc = nn.Linear(features, num_classes)
        for module in self.modules():
            (init_module_keras if keras else init_module)(module)
        if not keras:
            # He's fan_out rule gives a 10-output classifier weights of std 0.45: on 512
            # unpooled features it starts at logits of std 12 and a loss of 18 on the digits
            # (issue 22). torchvision's VGG draws its linear layers from N(0, 0.01) instead.
            nn.init.normal_(self.fc.weight, 0.0, CLASSIFIER_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.features(self.normalize(x)), 1)
        return self.fc(self.head(x))
