"""A seeded, stratified hold-out of the training set (issue 20): the paper set its schedule "on a
45k/5k train/val split" (section 4.2) before training on all 50k.

Each class gives its share of the held-out images, exactly: `count` x (its images / all images),
rounded by largest remainders (ties to the lower class index), so CIFAR-10's 5,000 are 500 per
class and CIFAR-100's 50. Which images of a class are held out depends only on `seed`, never on
the run's own seed, so that every run of a sweep is selected on the same validation images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Split:
    """Indices into the training set, each sorted: the images trained on and those held out."""

    train: np.ndarray  # int64
    validation: np.ndarray  # int64


def class_counts(labels: np.ndarray, count: int) -> np.ndarray:
    """How many images of each class (by label, 0..max) to hold out, summing to `count`."""
    sizes = np.bincount(np.asarray(labels, dtype=np.int64))
    total = int(sizes.sum())
    if not 0 <= count < total:
        raise ValueError(
            f"validation_images must be between 0 and {total - 1} (the training images), "
            f"got {count}"
        )
    exact = sizes * count / total
    counts = np.floor(exact).astype(np.int64)
    short = count - int(counts.sum())
    # Largest remainders first; a stable sort keeps the lower class index first among ties.
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def stratified_split(labels: np.ndarray, count: int, *, seed: int) -> Split:
    """Hold out `count` images, stratified by class; the same labels, count and seed give the
    same split on every machine (numpy's PCG64)."""
    labels = np.asarray(labels, dtype=np.int64)
    counts = class_counts(labels, count)
    rng = np.random.Generator(np.random.PCG64(seed))
    held: list[np.ndarray] = []
    for label, take in enumerate(counts):
        members = np.flatnonzero(labels == label)
        held.append(rng.permutation(members)[:take])
    validation = np.sort(np.concatenate(held)) if held else np.empty(0, dtype=np.int64)
    keep = np.ones(labels.shape[0], dtype=bool)
    keep[validation] = False
    return Split(train=np.flatnonzero(keep), validation=validation.astype(np.int64))


def hold_out(
    images: torch.Tensor, labels: torch.Tensor, count: int, *, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(train images, train labels, validation images, validation labels); no validation
    tensors when count is 0, and then the training tensors are the ones given."""
    if count == 0:
        return images, labels, None, None
    split = stratified_split(labels.numpy(), count, seed=seed)
    kept, held = torch.from_numpy(split.train), torch.from_numpy(split.validation)
    return images[kept], labels[kept], images[held], labels[held]
