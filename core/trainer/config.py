"""Training configuration: one frozen dataclass, defaults = He et al. 2016, section 4.2."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core.architecture import ARCHITECTURES, SHORTCUTS
from core.architecture import DATASET_CLASSES as DATASETS

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

    def __post_init__(self) -> None:
        if isinstance(self.lr_milestones, list):  # from JSON; the field stays hashable
            object.__setattr__(self, "lr_milestones", tuple(self.lr_milestones))
        problems = _problems(self)
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (tuples as lists), so the dict goes into JSON and torch.save as is."""
        values = dataclasses.asdict(self)
        values["lr_milestones"] = list(self.lr_milestones)
        return values

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


def _choice(name: str, value: object, allowed: tuple[str, ...] | list[str]) -> str | None:
    if value in allowed:
        return None
    return f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"


def _positive_int(name: str, value: object, minimum: int = 1) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return None
    return f"{name} must be an integer >= {minimum}, got {value!r}"


def _number(name: str, value: object, low: float, high: float, *, open_low: bool) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and (low < value if open_low else low <= value) and value <= high:  # type: ignore[operator]
        return None
    bracket = "(" if open_low else "["
    return f"{name} must be a number in {bracket}{low}, {high}], got {value!r}"


def _problems(config: TrainConfig) -> list[str]:
    """Every invalid field, each message naming the field and what is allowed."""
    inf = float("inf")
    checks = [
        _choice("architecture", config.architecture, ARCHITECTURES),
        _choice("shortcut", config.shortcut, SHORTCUTS),
        _choice("dataset", config.dataset, list(DATASETS)),
        _choice("lr_schedule", config.lr_schedule, LR_SCHEDULES),
        _choice("warmup", config.warmup, WARMUP_MODES),
        _choice("train_mode", config.train_mode, TRAIN_MODES),
        _choice("precision", config.precision, PRECISIONS),
        _positive_int("epochs", config.epochs),
        _positive_int("batch_size", config.batch_size),
        _positive_int("eval_batch_size", config.eval_batch_size),
        _positive_int("step_epochs", config.step_epochs),
        _positive_int("warmup_max_iterations", config.warmup_max_iterations, minimum=0),
        _positive_int("seed", config.seed, minimum=0),
        _number("learning_rate", config.learning_rate, 0.0, inf, open_low=True),
        _number("warmup_learning_rate", config.warmup_learning_rate, 0.0, inf, open_low=True),
        _number("momentum", config.momentum, 0.0, 1.0, open_low=False),
        _number("weight_decay", config.weight_decay, 0.0, inf, open_low=False),
        _number("lr_gamma", config.lr_gamma, 0.0, 1.0, open_low=True),
        _number("step_gamma", config.step_gamma, 0.0, 1.0, open_low=True),
        _number("warmup_until_error", config.warmup_until_error, 0.0, 1.0, open_low=False),
    ]
    if (
        isinstance(config.depth, bool)
        or not isinstance(config.depth, int)
        or config.depth < 8
        or (config.depth - 2) % 6
    ):
        checks.append(
            "depth must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, ...), "
            f"got {config.depth!r}"
        )
    milestones = config.lr_milestones
    if (
        not isinstance(milestones, tuple)
        or not all(
            isinstance(m, (int, float)) and not isinstance(m, bool) and 0 < m < 1
            for m in milestones
        )
        or list(milestones) != sorted(milestones)
    ):
        checks.append(
            f"lr_milestones must be increasing fractions of training in (0, 1), got {milestones!r}"
        )
    if not isinstance(config.device, str) or not (
        config.device in ("auto", "cpu", "cuda", "mps") or config.device.startswith("cuda:")
    ):
        checks.append(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {config.device!r}")
    if config.train_mode == "frozen_base" and not config.init_weights:
        checks.append("init_weights must name a weights file when train_mode is 'frozen_base'")
    for name in ("download", "augment", "channels_last", "compile"):
        if not isinstance(getattr(config, name), bool):
            checks.append(f"{name} must be true or false, got {getattr(config, name)!r}")
    if config.init_weights is not None and not isinstance(config.init_weights, str):
        checks.append(f"init_weights must be a path or None, got {config.init_weights!r}")
    if not isinstance(config.data_dir, str) or not config.data_dir:
        checks.append(f"data_dir must be a non-empty path, got {config.data_dir!r}")
    return [c for c in checks if c]
