"""Training configuration: one frozen dataclass, defaults = He et al. 2016, section 4.2."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

ARCHITECTURES = ("resnet", "plain")
SHORTCUTS = ("A", "B")
DATASETS = {"cifar10": 10, "cifar100": 100}
LR_SCHEDULES = ("multistep", "step", "cosine")
TRAIN_MODES = ("end_to_end", "frozen_base")
WARMUP_MODES = ("auto", "on", "off")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    # --- model ---
    architecture: str = "resnet"  # "resnet" (identity shortcuts) or "plain" (none)
    depth: int = 20  # 6n+2: 20, 32, 44, 56, 110, 1202, ...
    shortcut: str = "A"  # "A": subsample + zero-pad, parameter-free; "B": 1x1 projection + BN
    # --- data ---
    dataset: str = "cifar10"  # "cifar10" or "cifar100"
    data_dir: str = "data"  # holds cifar-10-batches-py/ or cifar-100-python/
    download: bool = False  # fetch missing files with torchvision's downloader (md5-checked)
    augment: bool = True  # 4-pixel pad + random 32x32 crop + horizontal flip (section 4.2)
    # --- optimisation ---
    epochs: int = 164  # the paper's 64k iterations at batch 128 over 50k images
    batch_size: int = 128  # images per SGD step
    learning_rate: float = 0.1  # peak learning rate
    momentum: float = 0.9
    weight_decay: float = 1e-4  # L2, applied by SGD to every parameter
    lr_schedule: str = "multistep"  # "multistep", "step" or "cosine"
    lr_milestones: tuple[float, ...] = (0.5, 0.75)  # multistep: fractions of training
    lr_gamma: float = 0.1  # multistep: factor at each milestone
    step_epochs: int = 20  # step: epochs between two decays (published Keras recipe)
    step_gamma: float = 0.5  # step: factor at each decay
    warmup: str = "auto"  # "auto": on for depth >= 110 as in the paper; "on"; "off"
    warmup_learning_rate: float = 0.01  # lr while warming up (section 4.2, ResNet-110)
    warmup_until_error: float = 0.8  # leave warm-up once training error falls below this
    warmup_max_iterations: int = 2000  # leave warm-up after this many steps regardless
    # --- mode ---
    train_mode: str = "end_to_end"  # "end_to_end" or "frozen_base" (only the classifier learns)
    init_weights: str | None = None  # path to a state_dict to start from (needed by frozen_base)
    # --- execution ---
    seed: int = 0  # fixes init, data order and augmentation; CPU runs repeat exactly
    device: str = "auto"  # "auto": CUDA when present, else CPU; or "cpu", "cuda", "cuda:1"
    precision: str = "auto"  # "auto": bf16 autocast on CUDA, fp32 on CPU; "fp32"; "bf16"
    channels_last: bool = True  # NHWC memory format for the convolutions
    compile: bool = False  # torch.compile the model
    eval_batch_size: int = 1000  # images per evaluation step

    @property
    def num_classes(self) -> int:
        return DATASETS[self.dataset]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {', '.join(unknown)}")
        values = dict(values)
        if "lr_milestones" in values:
            values["lr_milestones"] = tuple(values["lr_milestones"])
        return cls(**values)
