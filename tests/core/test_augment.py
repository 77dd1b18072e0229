from __future__ import annotations

import torch
import torch.nn.functional as F

from core.trainer.augment import PAD, crop_and_flip, plan_epoch, training_batch


def _images(count: int) -> torch.Tensor:
    return torch.randint(1, 256, (count, 3, 32, 32), dtype=torch.uint8)  # no zeros: pad shows


def test_crop_and_flip_centre_without_flip_is_identity() -> None:
    images = _images(2)
    out = crop_and_flip(images, torch.full((2, 2), PAD), torch.zeros(2, dtype=torch.bool))
    assert torch.equal(out, images)


def test_crop_and_flip_shifts_with_zero_padding() -> None:
    images = _images(1)
    out = crop_and_flip(images, torch.tensor([[0, 8]]), torch.tensor([False]))
    # Offset (0, 8): the crop starts 4 rows above and 4 columns right of the image.
    assert torch.equal(out[0, :, :PAD, :], torch.zeros(3, PAD, 32, dtype=torch.uint8))
    assert torch.equal(out[0, :, :, 32 - PAD :], torch.zeros(3, 32, PAD, dtype=torch.uint8))
    assert torch.equal(out[0, :, PAD:, : 32 - PAD], images[0, :, : 32 - PAD, PAD:])


def test_crop_and_flip_mirrors_left_right() -> None:
    images = _images(3)
    offsets = torch.tensor([[4, 4], [1, 7], [8, 0]])
    out = crop_and_flip(images, offsets, torch.tensor([True, True, False]))
    assert torch.equal(out[0], images[0].flip(-1))
    padded = F.pad(images, (PAD,) * 4)
    assert torch.equal(out[1], padded[1, :, 1:33, 7:39].flip(-1))
    assert torch.equal(out[2], padded[2, :, 8:40, 0:32])


def test_training_batch_keeps_labels_aligned() -> None:
    count = 64
    images = torch.zeros(count, 3, 32, 32, dtype=torch.uint8)
    for i in range(count):  # each image is filled with its own label value
        images[i] = i + 1
    labels = torch.arange(count) + 1
    plan = plan_epoch(count, torch.Generator().manual_seed(0), torch.device("cpu"))
    batch, targets = training_batch(images, labels, plan, 10, 42)
    assert batch.shape == (32, 3, 32, 32)
    centre = batch[:, 0, 16, 16].long()  # never padding: shifts are at most 4 pixels
    assert torch.equal(centre, targets)


def test_plan_epoch_draws_all_shifts_and_both_flips() -> None:
    plan = plan_epoch(5000, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert torch.equal(plan.order.sort().values, torch.arange(5000))
    assert set(plan.offsets.flatten().tolist()) == set(range(2 * PAD + 1))
    assert 0.45 < plan.flips.float().mean().item() < 0.55


def test_plan_epoch_same_generator_state_same_plan() -> None:
    generator = torch.Generator().manual_seed(3)
    state = generator.get_state()
    first = plan_epoch(100, generator, torch.device("cpu"))
    generator.set_state(state)
    again = plan_epoch(100, generator, torch.device("cpu"))
    assert torch.equal(first.order, again.order) and torch.equal(first.offsets, again.offsets)


def test_plan_epoch_without_augment_is_centre_crop() -> None:
    plan = plan_epoch(10, torch.Generator(), torch.device("cpu"), augment=False)
    assert torch.equal(plan.offsets, torch.full((10, 2), PAD)) and not plan.flips.any()


def test_crop_and_flip_output_is_channels_last() -> None:
    out = crop_and_flip(_images(4), torch.full((4, 2), 2), torch.zeros(4, dtype=torch.bool))
    assert out.is_contiguous(memory_format=torch.channels_last)
