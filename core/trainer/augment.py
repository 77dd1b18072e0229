"""Batched augmentation on the training device: 4-pixel zero pad, random 32x32 crop, flip.

Section 4.2: "4 pixels are padded on each side, and a 32x32 crop is randomly sampled from the
padded image or its horizontal flip". Random draws for a whole epoch come from one dedicated
torch.Generator, so restoring its state at the start of an epoch replays that epoch exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

PAD = 4  # pixels of zero padding on each side
SIZE = 32  # CIFAR images are 32x32


@dataclass(frozen=True)
class EpochPlan:
    """Image order and per-position crop offsets and flips for one epoch, on the device."""

    order: torch.Tensor  # int64 N: a permutation of the training set
    offsets: torch.Tensor  # int64 N x 2: (dy, dx) of each crop in the padded image, 0..2*PAD
    flips: torch.Tensor  # bool N: mirror the crop left-right


def plan_epoch(
    size: int, generator: torch.Generator, device: torch.device, *, augment: bool = True
) -> EpochPlan:
    """Draw an epoch's order, offsets and flips from generator (a CPU generator)."""
    order = torch.randperm(size, generator=generator)
    if augment:
        offsets = torch.randint(0, 2 * PAD + 1, (size, 2), generator=generator)
        flips = torch.rand(size, generator=generator) < 0.5
    else:
        offsets = torch.full((size, 2), PAD, dtype=torch.int64)
        flips = torch.zeros(size, dtype=torch.bool)
    return EpochPlan(order.to(device), offsets.to(device), flips.to(device))


def crop_and_flip(images: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Zero-pad uint8 N x C x 32 x 32 images by PAD and take one 32x32 crop (maybe mirrored) each.

    One gather for the whole batch; the result comes out channels-last in memory (N x H x W x C
    permuted), which is the layout the convolutions want.
    """
    padded = F.pad(images, (PAD, PAD, PAD, PAD))
    steps = torch.arange(SIZE, device=images.device)
    rows = offsets[:, 0:1] + steps  # N x 32
    # A flipped crop reads its columns right to left.
    cols = torch.where(flips[:, None], SIZE - 1 - steps, steps) + offsets[:, 1:2]
    batch = torch.arange(images.shape[0], device=images.device)[:, None, None]
    # Advanced indices on dims 0, 2, 3 around a slice: the result is N x 32 x 32 x C.
    picked = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2)


def training_batch(
    images: torch.Tensor, labels: torch.Tensor, plan: EpochPlan, start: int, stop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions start..stop-1 of the epoch: augmented uint8 images and their labels."""
    index = plan.order[start:stop]
    batch = crop_and_flip(images[index], plan.offsets[start:stop], plan.flips[start:stop])
    return batch, labels[index]
