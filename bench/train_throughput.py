"""Steady-state training throughput: the core trainer vs a torchvision DataLoader pipeline.

    .venv/bin/python -m bench.train_throughput [--images 10000] [--rounds 3] [--steps 50]

ResNet-20, batch 128, SGD (momentum 0.9, weight decay 1e-4), 2 CPU threads for both, on
generated CIFAR-10 files. Reference: per-image PIL transforms (RandomCrop(32, padding=4),
RandomHorizontalFlip, ToTensor, Normalize) in a DataLoader with 2 workers, NCHW, fp32. Core:
`fit` itself (uint8 training set in one tensor, batched crop/flip, model-side normalisation),
timed between its should_stop polls, so each timed interval is exactly one training step.
The first steps of each pipeline (allocator, oneDNN primitive caches, worker start) are not timed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from core.spec import TrainConfig
from core.trainer.data import load_cifar
from core.trainer.fit import fit
from core.trainer.models import build_model
from testkit.cifar_files import write_cifar10
from testkit.procfs import cpu_name

THREADS = 2
BATCH = 128
WARMUP_STEPS = 10


class PilCifar(Dataset[tuple[torch.Tensor, int]]):
    def __init__(self, images: np.ndarray, labels: list[int], transform: transforms.Compose):
        self.images = [Image.fromarray(image) for image in images]  # HWC uint8, as torchvision
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), self.labels[index]


def reference_steps(data_dir: Path, steps: int) -> list[float]:
    """Seconds of each timed step of the reference pipeline (data waiting included)."""
    data = load_cifar(data_dir, "cifar10")
    mean = (data.train_images.float() / 255).mean(dim=(0, 2, 3)).tolist()
    std = (data.train_images.float() / 255).std(dim=(0, 2, 3)).tolist()
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    images = data.train_images.permute(0, 2, 3, 1).numpy()
    dataset = PilCifar(images, data.train_labels.tolist(), transform)
    loader = DataLoader(
        dataset,
        batch_size=BATCH,
        shuffle=True,
        num_workers=2,
        drop_last=True,
        persistent_workers=True,
    )
    torch.manual_seed(0)
    model = build_model("resnet", 20)  # its mean/std buffers stay 0/1: Normalize does it
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    marks: list[float] = []
    while len(marks) <= WARMUP_STEPS + steps:
        for inputs, targets in loader:
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            marks.append(time.perf_counter())
            if len(marks) > WARMUP_STEPS + steps:
                break
    del loader  # ends the workers before the next pipeline runs
    return [b - a for a, b in itertools.pairwise(marks[WARMUP_STEPS:])]


def core_steps(data_dir: Path, steps: int, *, precision: str, channels_last: bool) -> list[float]:
    """Seconds of each timed step of `fit` (between two should_stop polls: one whole step)."""
    polls: list[float] = []

    def should_stop() -> bool:  # polled before every batch
        polls.append(time.perf_counter())
        return len(polls) > WARMUP_STEPS + steps

    config = TrainConfig(
        depth=20,
        data_dir=str(data_dir),
        device="cpu",
        precision=precision,
        channels_last=channels_last,
        epochs=100,
        warmup="off",
    )
    fit(config, should_stop=should_stop)
    return [b - a for a, b in itertools.pairwise(polls[WARMUP_STEPS:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="generated training images")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the pipelines")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per round (fp32)")
    parser.add_argument("--bf16-steps", type=int, default=10, help="core bf16 steps; 0 skips")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    print(f"{cpu_name()}, {THREADS} threads, torch {torch.__version__}, ResNet-20, batch {BATCH}")
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    pipelines: dict[str, Callable[[Path, int], list[float]]] = {
        "reference DataLoader+PIL NCHW fp32": reference_steps,
        "core fp32 channels_last": partial(core_steps, precision="fp32", channels_last=True),
        "core fp32 NCHW": partial(core_steps, precision="fp32", channels_last=False),
    }
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_cifar10(root, train_per_class=args.images // 10, test_per_class=10)
        # Alternate the pipelines, so load from other processes falls on all of them alike.
        for _ in range(args.rounds):
            for name, run in pipelines.items():
                times[name] += run(root, args.steps)
        if args.bf16_steps > 0:
            bf16 = "core bf16 autocast channels_last"
            times[bf16] = core_steps(root, args.bf16_steps, precision="bf16", channels_last=True)
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # The median step resists bursts of load from other processes; the mean is shown as well.
    reference = BATCH / statistics.median(times["reference DataLoader+PIL NCHW fp32"])
    print(f"{'pipeline':34s} {'steps':>5s} {'median img/s':>12s} {'mean img/s':>10s} {'ratio':>6s}")
    for name, steps in times.items():
        median = BATCH / statistics.median(steps)
        mean = BATCH * len(steps) / sum(steps)
        print(f"{name:34s} {len(steps):5d} {median:12.1f} {mean:10.1f} {median / reference:5.2f}x")


if __name__ == "__main__":
    main()
