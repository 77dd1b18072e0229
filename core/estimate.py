"""How long a job will take, before it runs: measured training throughput scaled by FLOPs.

Workers record images/s per (device, architecture, depth, batch size, precision) when a job
succeeds (core.store.artifacts.record_throughput): training images per second of whole-epoch
wall time, so evaluation and checkpoints are in the figure, which scales with FLOPs as they do.
For a new job, each device's nearest measurement (same architecture family and batch size
preferred, then the closest FLOPs) is scaled by the ratio of training FLOPs per image: time per
image is taken as proportional to FLOPs, which holds well across the depths of one family
(every block of a stage costs the same) and less well across batch sizes, which the answer
says when it had to cross them. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.compute import activation_bytes, forward_flops, training_flops, weights_bytes
from core.spec.resolved import ResolvedSpec

# Images per epoch of the real datasets (both CIFARs: 50,000 training and 10,000 test images).
DATASET_IMAGES = {"cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000)}


@dataclass(frozen=True)
class Measurement:
    device: str
    architecture: str
    depth: int
    batch_size: int
    precision: str
    images_per_second: float


def cost(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters aside, what one image and one batch of this job cost (None: no formula)."""
    spec = ResolvedSpec.from_stored(stored)
    arch, depth, shortcut, classes = spec.architecture, spec.depth, spec.shortcut, spec.num_classes
    return {
        "forward_flops_per_image": forward_flops(arch, depth, classes, shortcut),
        "training_flops_per_image": training_flops(arch, depth, classes, shortcut),
        "weights_bytes": weights_bytes(arch, depth, classes, shortcut),
        "activation_bytes_per_batch": {
            precision: activation_bytes(arch, depth, spec.batch_size, classes, shortcut, precision)
            for precision in ("fp32", "bf16")
        },
    }


def training_work(stored: Mapping[str, Any], epochs: int | None = None) -> float:
    """Training FLOPs of `epochs` (default: all of the job's) over the job's data set (its own
    image count, `dataset_images`): what a compute budget counts. 0 for an architecture without
    a formula."""
    spec = ResolvedSpec.from_stored(stored)
    flops = training_flops(spec.architecture, spec.depth, spec.num_classes, spec.shortcut)
    left = spec.epochs if epochs is None else max(epochs, 0)
    return float(flops or 0) * dataset_images(spec)[0] * left


def dataset_images(spec: ResolvedSpec) -> tuple[int, int]:
    """(training, test) images of the job's data set: an uploaded one's as its spec recorded
    them at submission (issue 19), a built-in one's published counts. A job on an uploaded data
    set stored before the spec recorded them has CIFAR's counts stand in."""
    default = DATASET_IMAGES.get(spec.dataset, DATASET_IMAGES["cifar10"])
    train = spec.dataset_train_images if spec.dataset_train_images is not None else default[0]
    test = spec.dataset_test_images if spec.dataset_test_images is not None else default[1]
    return train, test


def estimate_times(
    stored: Mapping[str, Any],
    measurements: list[Measurement],
    *,
    train_images: int | None = None,
    test_images: int | None = None,  # in the measured rate already (same train/test ratio)
) -> list[dict[str, Any]]:
    """One estimate per (device, precision) measured: seconds per epoch and for the job."""
    spec = ResolvedSpec.from_stored(stored)
    classes = spec.num_classes
    target = training_flops(spec.architecture, spec.depth, classes, spec.shortcut)
    if target is None:
        return []
    train_n = dataset_images(spec)[0] if train_images is None else train_images
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in measurements:
        if training_flops(m.architecture, m.depth, classes) is not None:
            groups.setdefault((m.device, m.precision), []).append(m)
    answers = []
    for (device, precision), found in sorted(groups.items()):
        nearest = min(found, key=lambda m: _distance(m, spec, target, classes))
        measured_flops = training_flops(nearest.architecture, nearest.depth, classes)
        assert measured_flops is not None
        rate = nearest.images_per_second * measured_flops / target
        epoch_s = train_n / rate
        how = (
            f"{nearest.images_per_second:.0f} training images per second of epoch (evaluation "
            f"and checkpoint included) measured for {nearest.architecture}-{nearest.depth} at "
            f"batch size {nearest.batch_size}, scaled by training FLOPs per image "
            f"({measured_flops / 1e6:.0f} M -> {target / 1e6:.0f} M), for {train_n} images"
        )
        if nearest.batch_size != spec.batch_size:
            how += (
                f"; measured at another batch size ({nearest.batch_size}, this job "
                f"{spec.batch_size}): less certain"
            )
        answers.append(
            {
                "device": device,
                "precision": precision,
                "images_per_second": rate,
                "seconds_per_epoch": epoch_s,
                "seconds": epoch_s * spec.epochs,
                "based_on": {
                    "architecture": nearest.architecture,
                    "depth": nearest.depth,
                    "batch_size": nearest.batch_size,
                    "images_per_second": nearest.images_per_second,
                },
                "method": how,
            }
        )
    return answers


def _distance(
    m: Measurement, spec: ResolvedSpec, target: int, classes: int
) -> tuple[int, float, float]:
    flops = training_flops(m.architecture, m.depth, classes) or target
    return (
        int(m.architecture != spec.architecture),
        abs(math.log(m.batch_size / spec.batch_size)),
        abs(math.log(flops / target)),
    )
