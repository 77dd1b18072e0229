"""What a CIFAR ResNet costs to run, without torch: forward FLOPs, weights size and the
activation memory of a training batch (issue 11's pre-flight estimate).

FLOPs follow torch.utils.flop_counter's convention, which tests/core/test_compute.py checks
against the built model: 2 per multiply-accumulate of the convolutions and the classifier;
batch norm, ReLU, the residual additions and the pooling (under 1 % of the total here) count 0.
Only the 6n+2 networks ("resnet", "plain") have formulas; others give None.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.architecture import blocks_per_stage

FORMULA_ARCHITECTURES = ("resnet", "plain")
STAGES = ((16, 32), (32, 16), (64, 8))  # (filters, map side) of the three stages, section 4.2
# Values kept for the backward pass per element a convolution outputs: its output (read by
# batch norm's backward) and the ReLU's output after batch norm (read by the ReLU's backward
# and the next convolution's); the ReLU runs in place over batch norm's output.
SAVED_PER_CONV_OUTPUT = 2
BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


@dataclass(frozen=True)
class Layer:
    """One convolution (or the classifier): multiply-accumulates and outputs per image."""

    macs: int
    outputs: int
    batch_norm_channels: int


def layers(
    architecture: str, depth: int, num_classes: int = 10, shortcut: str = "A"
) -> list[Layer]:
    n = blocks_per_stage(depth)
    residual = architecture == "resnet"
    found = [Layer(macs=32 * 32 * 16 * 3 * 9, outputs=16 * 32 * 32, batch_norm_channels=16)]
    channels_in = 16
    for stage, (width, side) in enumerate(STAGES):
        for block in range(n):
            first = stage > 0 and block == 0
            area = side * side
            found.append(Layer(area * width * channels_in * 9, area * width, width))
            found.append(Layer(area * width * width * 9, area * width, width))
            if first and residual and shortcut == "B":  # 1x1 stride-2 projection with BN
                found.append(Layer(area * width * channels_in, area * width, width))
            channels_in = width
    found.append(Layer(macs=64 * num_classes, outputs=num_classes, batch_norm_channels=0))
    return found


def supported(architecture: str) -> bool:
    return architecture in FORMULA_ARCHITECTURES


def forward_flops(
    architecture: str, depth: int, num_classes: int = 10, shortcut: str = "A"
) -> int | None:
    """FLOPs of one image's forward pass (2 x multiply-accumulates); None without a formula."""
    if not supported(architecture):
        return None
    return 2 * sum(layer.macs for layer in layers(architecture, depth, num_classes, shortcut))


def training_flops(
    architecture: str, depth: int, num_classes: int = 10, shortcut: str = "A"
) -> int | None:
    """One image's forward and backward pass: 3 x forward (the backward computes the gradients
    of both inputs and weights, each about one forward's work)."""
    forward = forward_flops(architecture, depth, num_classes, shortcut)
    return None if forward is None else 3 * forward


def weights_bytes(
    architecture: str, depth: int, num_classes: int = 10, shortcut: str = "A"
) -> int | None:
    """Bytes of the state_dict's tensors: float32 parameters, batch norm's running mean and
    variance and the input normalisation's mean and std; an int64 batch counter per batch norm
    and the one-byte `residual` flag. The .pt adds some pickle per tensor, safetensors a header.
    """
    if not supported(architecture):
        return None
    found = layers(architecture, depth, num_classes, shortcut)
    parameters = sum(_layer_parameters(layer, found) for layer in found)
    running = 2 * sum(layer.batch_norm_channels for layer in found)
    batch_norms = sum(1 for layer in found if layer.batch_norm_channels)
    return 4 * (parameters + running + 2 * 3) + 8 * batch_norms + 1


def _layer_parameters(layer: Layer, found: list[Layer]) -> int:
    if layer is found[-1]:  # the classifier: weights and biases
        return layer.macs + layer.outputs
    channels = layer.batch_norm_channels
    area = layer.outputs // channels
    return layer.macs // area + 2 * channels  # conv weights (no bias) + BN weight and bias


def activation_bytes(
    architecture: str,
    depth: int,
    batch_size: int,
    num_classes: int = 10,
    shortcut: str = "A",
    precision: str = "fp32",
) -> int | None:
    """Activations one training step keeps for its backward pass, for a whole batch.

    batch x bytes per value x (the input image + 2 values per convolution output element, see
    SAVED_PER_CONV_OUTPUT, + the logits). A residual sum is the ReLU's output that follows it,
    so it costs nothing more. Weights, gradients, optimizer state and the framework's
    workspace are not included.
    """
    if not supported(architecture):
        return None
    found = layers(architecture, depth, num_classes, shortcut)
    conv_outputs = sum(layer.outputs for layer in found[:-1])
    per_image = 3 * 32 * 32 + SAVED_PER_CONV_OUTPUT * conv_outputs + num_classes
    return batch_size * BYTES.get(precision, 4) * per_image
