"""Batched augmentation on the training device, in one of two recipes.

"crop_flip", section 4.2: "4 pixels are padded on each side, and a 32x32 crop is randomly
sampled from the padded image or its horizontal flip" (zero padding).
"keras", the Keras reproduction's ImageDataGenerator (issue 12): a random rotation of up to
+-15 degrees and shifts of up to 10 % of the width and height (continuous, bilinear
interpolation), pixels from outside filled with the nearest border pixel (fill_mode "nearest"),
then a horizontal flip with probability 1/2; one affine grid for the whole batch.

Random draws for a whole epoch come from one dedicated torch.Generator, so restoring its state
at the start of an epoch replays that epoch exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.spec import AUGMENTATIONS

PAD = 4  # pixels of zero padding on each side
SIZE = 32  # CIFAR images are 32x32
KERAS_ROTATION = 15.0  # degrees, either way (rotation_range=15)
KERAS_SHIFT = 0.1  # fraction of the side, either way (width/height_shift_range=0.1)


@dataclass(frozen=True)
class EpochPlan:
    """Image order and per-position crop offsets and flips for one epoch, on the device."""

    order: torch.Tensor  # int64 N: a permutation of the training set
    offsets: torch.Tensor  # int64 N x 2: (dy, dx) of each crop in the padded image, 0..2*PAD
    flips: torch.Tensor  # bool N: mirror the crop left-right
    # "keras": float32 N x 2 x 3, each image's affine_grid matrix (flip included); None else.
    transforms: torch.Tensor | None = None


def plan_epoch(
    size: int,
    generator: torch.Generator,
    device: torch.device,
    *,
    augment: bool = True,
    augmentation: str = "crop_flip",
) -> EpochPlan:
    """Draw an epoch's order and augmentation from generator (a CPU generator).

    augment False: no augmentation whichever the recipe (every image as it is).
    """
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}")
    order = torch.randperm(size, generator=generator)
    if augment and augmentation == "keras":
        draws = torch.rand(size, 4, generator=generator, dtype=torch.float64)
        angles = (2 * draws[:, 0] - 1) * KERAS_ROTATION
        shifts = (2 * draws[:, 1:3] - 1) * KERAS_SHIFT * SIZE
        flips = draws[:, 3] < 0.5
        transforms = affine_matrices(angles, shifts, flips)
        offsets = torch.full((size, 2), PAD, dtype=torch.int64)
        return EpochPlan(
            order.to(device), offsets.to(device), flips.to(device), transforms.to(device)
        )
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


def affine_matrices(
    angles: torch.Tensor, shifts: torch.Tensor, flips: torch.Tensor, size: int = SIZE
) -> torch.Tensor:
    """float32 N x 2 x 3 matrices for F.affine_grid: each output image shows its input rotated
    by angles[i] degrees counterclockwise as displayed (rows downwards) about the centre, moved
    by shifts[i] = (dy, dx) pixels (down, right), then mirrored left-right where flips[i].

    affine_grid maps each output position (x, y in [-1, 1]) to where it reads the input, so the
    matrix is the inverse of that motion: input = R(-angle) @ (flip(output) - shift).
    """
    theta = torch.deg2rad(angles.to(torch.float64))
    cos, sin = torch.cos(theta), torch.sin(theta)
    # Pixels to affine_grid's units (the side spans 2); x is columns (dx), y rows (dy).
    dx, dy = shifts[:, 1].to(torch.float64) * 2 / size, shifts[:, 0].to(torch.float64) * 2 / size
    sign = torch.where(flips, -1.0, 1.0).to(torch.float64)
    # With rows downwards, a counterclockwise turn by a maps (x, y) to (x cos a + y sin a,
    # -x sin a + y cos a); its inverse is [[cos, -sin], [sin, cos]].
    matrices = torch.stack(
        [
            torch.stack([cos * sign, -sin, -(cos * dx - sin * dy)], dim=1),
            torch.stack([sin * sign, cos, -(sin * dx + cos * dy)], dim=1),
        ],
        dim=1,
    )
    return matrices.to(torch.float32)


def transform(images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """uint8 N x C x H x W images moved by N x 2 x 3 affine_grid matrices (one grid for the
    batch): float32 in [0, 1], bilinear, border pixels repeated outside, channels-last."""
    pixels = images.float().div_(255.0)
    grid = F.affine_grid(matrices.to(pixels.device), list(pixels.shape), align_corners=False)
    moved = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return moved.contiguous(memory_format=torch.channels_last)


def training_batch(
    images: torch.Tensor, labels: torch.Tensor, plan: EpochPlan, start: int, stop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions start..stop-1 of the epoch: augmented images (uint8 after a crop, float32 in
    [0, 1] after an affine transform) and their labels."""
    index = plan.order[start:stop]
    if plan.transforms is not None:
        return transform(images[index], plan.transforms[start:stop]), labels[index]
    batch = crop_and_flip(images[index], plan.offsets[start:stop], plan.flips[start:stop])
    return batch, labels[index]
