"""Keras-recipe augmentation (issue 12): rotations and shifts move pixels where they should."""

from __future__ import annotations

import math

import pytest
import torch

from core.trainer.augment import (
    KERAS_ROTATION,
    KERAS_SHIFT,
    PAD,
    SIZE,
    affine_matrices,
    plan_epoch,
    training_batch,
    transform,
)

CENTRE = (SIZE - 1) / 2  # 15.5: rotations turn about the middle of the image


def _dot(y: int, x: int) -> torch.Tensor:
    """A black uint8 image with one white pixel at row y, column x."""
    image = torch.zeros(1, 3, SIZE, SIZE, dtype=torch.uint8)
    image[0, :, y, x] = 255
    return image


def _moved(
    image: torch.Tensor, angle: float, dy: float = 0.0, dx: float = 0.0, flip: bool = False
) -> torch.Tensor:
    matrices = affine_matrices(
        torch.tensor([angle]), torch.tensor([[dy, dx]]), torch.tensor([flip])
    )
    return transform(image, matrices)[0, 0]


def _brightest(channel: torch.Tensor) -> tuple[int, int]:
    row, col = divmod(int(channel.argmax()), SIZE)
    return row, col


def _centroid(channel: torch.Tensor) -> tuple[float, float]:
    rows, cols = torch.meshgrid(
        torch.arange(SIZE, dtype=torch.float64),
        torch.arange(SIZE, dtype=torch.float64),
        indexing="ij",
    )
    weights = channel.double()
    total = float(weights.sum())
    return float((rows * weights).sum()) / total, float((cols * weights).sum()) / total


def test_transform_identity_keeps_the_image() -> None:
    image = torch.randint(0, 256, (2, 3, SIZE, SIZE), dtype=torch.uint8)
    out = transform(
        image, affine_matrices(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2).bool())
    )
    assert out.dtype == torch.float32
    assert torch.allclose(out, image.float() / 255, atol=1e-5)


def test_transform_shift_moves_pixels_down_and_right() -> None:
    out = _moved(_dot(10, 12), 0.0, dy=2.0, dx=3.0)
    assert _brightest(out) == (12, 15)
    assert float(out.max()) == pytest.approx(1.0, abs=1e-5)
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-4)  # nothing else lit


def test_transform_rotation_quarter_turn_counterclockwise() -> None:
    # (row 10, col 20) is 4.5 right of and 5.5 above the centre; a quarter turn
    # counterclockwise (as displayed) puts it 5.5 left of and 4.5 above: (11, 10).
    assert _brightest(_moved(_dot(10, 20), 90.0)) == (11, 10)
    assert _brightest(_moved(_dot(10, 20), -90.0)) == (20, 21)


def test_transform_small_rotation_moves_the_centroid_on_the_circle() -> None:
    # A 3x3 blob, rotated 15 degrees: bilinear interpolation spreads it, its centre of mass
    # lands where the rotation puts the blob's centre.
    image = torch.zeros(1, 3, SIZE, SIZE, dtype=torch.uint8)
    image[0, :, 7:10, 23:26] = 255  # centre (8, 24)
    y, x = _centroid(_moved(image, 15.0))
    angle = math.radians(15.0)
    ox, oy = 24 - CENTRE, 8 - CENTRE
    # Counterclockwise on screen with rows downwards: (x, y) -> (x cos + y sin, -x sin + y cos).
    expected_x = CENTRE + ox * math.cos(angle) + oy * math.sin(angle)
    expected_y = CENTRE - ox * math.sin(angle) + oy * math.cos(angle)
    assert (y, x) == pytest.approx((expected_y, expected_x), abs=0.05)


def test_transform_flip_mirrors_after_the_move() -> None:
    assert _brightest(_moved(_dot(10, 20), 0.0, flip=True)) == (10, SIZE - 1 - 20)
    # Shift right by 3, then mirror: column 31 - 23 = 8.
    assert _brightest(_moved(_dot(10, 20), 0.0, dx=3.0, flip=True)) == (10, 8)


def test_transform_fills_with_the_nearest_border_pixel() -> None:
    image = torch.zeros(1, 3, SIZE, SIZE, dtype=torch.uint8)
    image[0, :, :, 0] = 200  # the left column
    out = _moved(image, 0.0, dx=3.0)
    # The 3 columns uncovered on the left repeat the nearest pixel, the left column itself.
    assert torch.allclose(out[:, :4], torch.full((SIZE, 4), 200 / 255), atol=1e-5)
    assert float(out[:, 5:].abs().max()) < 1e-5


def test_plan_epoch_keras_draws_within_the_ranges_and_replays() -> None:
    device = torch.device("cpu")
    plan = plan_epoch(2000, torch.Generator().manual_seed(5), device, augmentation="keras")
    again = plan_epoch(2000, torch.Generator().manual_seed(5), device, augmentation="keras")
    assert plan.transforms is not None and again.transforms is not None
    assert torch.equal(plan.transforms, again.transforms) and torch.equal(plan.order, again.order)
    linear = plan.transforms[:, :, :2].double()
    # |det| = 1: rotations (and mirrors) only; the angle within +-15 degrees.
    assert torch.allclose(linear.det().abs(), torch.ones(2000, dtype=torch.float64), atol=1e-6)
    cos = linear[:, 1, 1]
    assert float(cos.min()) >= math.cos(math.radians(KERAS_ROTATION)) - 1e-6
    # Translation in affine_grid units: at most 2 x 10 % of the side, before the rotation.
    reach = plan.transforms[:, :, 2].double().norm(dim=1)
    assert float(reach.max()) <= 2 * KERAS_SHIFT * math.sqrt(2) + 1e-6
    assert 0.4 < float(plan.flips.double().mean()) < 0.6
    assert float(reach.max()) > 0.15  # shifts near the bound do occur


def test_plan_epoch_augment_false_turns_keras_off() -> None:
    images = torch.randint(0, 256, (6, 3, SIZE, SIZE), dtype=torch.uint8)
    labels = torch.arange(6)
    generator = torch.Generator().manual_seed(0)
    plan = plan_epoch(6, generator, torch.device("cpu"), augment=False, augmentation="keras")
    assert plan.transforms is None
    assert bool((plan.offsets == PAD).all()) and not bool(plan.flips.any())
    batch, targets = training_batch(images, labels, plan, 0, 6)
    assert torch.equal(batch, images[plan.order])
    assert torch.equal(targets, labels[plan.order])


def test_training_batch_keras_gives_moved_float_images() -> None:
    images = torch.randint(0, 256, (8, 3, SIZE, SIZE), dtype=torch.uint8)
    plan = plan_epoch(
        8, torch.Generator().manual_seed(1), torch.device("cpu"), augmentation="keras"
    )
    batch, _ = training_batch(images, torch.arange(8), plan, 0, 8)
    assert batch.shape == (8, 3, SIZE, SIZE) and batch.dtype == torch.float32
    assert float(batch.min()) >= 0.0 and float(batch.max()) <= 1.0
    assert not torch.allclose(batch, images[plan.order].float() / 255, atol=1e-3)
