"""A job's training settings, declared once: name, type, default, bounds, choices and meaning.

`TrainConfig` is both the trainer's configuration and the only declaration of a job's
hyperparameters. Everything else is derived from its fields' metadata (`option(...)`):
the API's request and response models (api/schemas/request.py), the worker's mapping from a
stored spec (worker/job_config.py), the command line's options (core/train.py) and the checks
below. Adding a hyperparameter means adding one field here and the trainer code that uses it.

Torch-free, so that the API can derive its models from it without importing the trainer.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from core.architecture import ARCHITECTURES, SHORTCUTS, depth_problem, shortcut_problem
from core.architecture import DATASET_CLASSES as DATASETS

LR_SCHEDULES = ("multistep", "step", "cosine")
TRAIN_MODES = ("end_to_end", "frozen_base")
WARMUP_MODES = ("auto", "on", "off")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
COMPILE_MODES = ("auto", "on", "off")
AUGMENTATIONS = ("crop_flip", "keras")
NORMALIZATIONS = ("per_channel", "global")
WEIGHT_DECAY_ON = ("all", "kernels")
SEED_MAX = 2**32 - 1  # the widest range every RNG the trainer seeds accepts (numpy's legacy one)

# How a field appears in `POST /jobs`: not at all, with its default, or required.
Exposure = Literal[False, True, "required"]


@dataclass(frozen=True)
class Option:
    """What a field means and which values it takes (the metadata of one TrainConfig field)."""

    doc: str
    api: Exposure = False
    choices: tuple[str, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def bounds(self) -> dict[str, float]:
        """The bounds that are set, by pydantic's names (ge, gt, le, lt)."""
        named = {"ge": self.ge, "gt": self.gt, "le": self.le, "lt": self.lt}
        return {name: value for name, value in named.items() if value is not None}


def option(
    default: Any,
    *,
    doc: str,
    api: Exposure = False,
    choices: tuple[str, ...] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A TrainConfig field with its meaning and allowed values (see `Option`)."""
    meta = Option(doc=doc, api=api, choices=choices, ge=ge, gt=gt, le=le, lt=lt)
    return dataclasses.field(default=default, metadata={"option": meta})


@dataclass(frozen=True)
class TrainConfig:
    """Defaults = He et al. 2016, section 4.2."""

    # --- model ---
    architecture: str = option(
        "resnet",
        api="required",
        choices=ARCHITECTURES,
        doc="`resnet` (identity shortcuts), `plain` (the same net without them), "
        "`preact_resnet` (pre-activation units, the Keras reproduction's), `vgg` (the CIFAR "
        "form with batch norm) or `vgg_keras` (the Keras reproduction's VGG, with dropout)",
    )
    depth: int = option(
        20,
        api="required",
        ge=8,
        doc="layers, 6n+2 for the ResNets and plain nets: 20, 32, 44, 56, 110, 1202, ... "
        "(section 4.2); 11, 13, 16 or 19 for the VGGs",
    )
    shortcut: str = option(
        "A",
        api=True,
        choices=SHORTCUTS,
        doc="`A`: subsample + zero-padding, parameter-free; `B`: 1x1 projections + BN "
        "(`resnet` and `plain` only)",
    )
    bn_momentum: float = option(
        0.1,
        api=True,
        gt=0,
        le=1,
        doc="batch norm's running-statistics momentum, PyTorch's convention (weight of the "
        "new batch); Keras' momentum 0.99 is 0.01 here",
    )
    bn_eps: float = option(
        1e-5,
        api=True,
        gt=0,
        le=1,
        doc="batch norm's epsilon (PyTorch 1e-5, Keras 1e-3); saved with the weights",
    )
    # --- data ---
    dataset: str = option(
        "cifar10", api=True, choices=tuple(DATASETS), doc="`cifar10` or `cifar100`"
    )
    data_dir: str = option("data", doc="holds cifar-10-batches-py/ or cifar-100-python/")
    download: bool = option(False, doc="fetch missing files (torchvision's md5-checked download)")
    augment: bool = option(
        True, api=True, doc="augment the training images as `augmentation` says; false: none"
    )
    augmentation: str = option(
        "crop_flip",
        api=True,
        choices=AUGMENTATIONS,
        doc="`crop_flip`: 4-pixel zero pad, random 32x32 crop and horizontal flip (section "
        "4.2); `keras`: random rotation up to 15 degrees, shifts up to 10 % of the side, "
        "nearest-pixel fill and horizontal flip (the Keras reproduction)",
    )
    normalization: str = option(
        "per_channel",
        api=True,
        choices=NORMALIZATIONS,
        doc="inside the model: `per_channel` mean and std of the training images, or "
        "`global`: one mean and std over all pixels and channels (+1e-7 on the std, Keras)",
    )
    validation_images: int = option(
        0,
        api=True,
        ge=0,
        le=25000,
        doc="training images held out as a validation split (issue 20), stratified by class "
        "and chosen by `validation_seed`; each epoch records validation error and loss. 0: "
        "train on all of them (the paper's final protocol); 5000: its 45k/5k split",
    )
    validation_seed: int = option(
        0,
        api=True,
        ge=0,
        le=SEED_MAX,
        doc="which images the validation split holds out; apart from `seed`, so that every "
        "run of a sweep is compared on the same images",
    )
    # --- optimisation ---
    epochs: int = option(
        164, api="required", ge=1, doc="passes over the training set; the paper: 164 (64k steps)"
    )
    batch_size: int = option(128, api=True, ge=1, doc="images per SGD step")
    learning_rate: float = option(0.1, api=True, gt=0, le=10, doc="peak learning rate")
    momentum: float = option(0.9, api=True, ge=0, lt=1, doc="SGD momentum")
    nesterov: bool = option(
        False, api=True, doc="Nesterov momentum (needs momentum > 0; the Keras reproduction's)"
    )
    weight_decay: float = option(
        1e-4,
        api=True,
        ge=0,
        le=1,
        doc="L2 penalty, added to the gradient by SGD (weight_decay x w); Keras' l2(x) on a "
        "kernel is weight_decay 2x",
    )
    weight_decay_on: str = option(
        "all",
        api=True,
        choices=WEIGHT_DECAY_ON,
        doc="`all` parameters (the paper's code), or `kernels`: the convolution and dense "
        "weights only, not batch norm or biases (Keras' kernel_regularizer)",
    )
    lr_schedule: str = option(
        "multistep",
        api=True,
        choices=LR_SCHEDULES,
        doc="`multistep` (/10 at 50 % and 75 % of training, the paper's), `step` (x step_gamma "
        "every step_epochs epochs) or `cosine`",
    )
    lr_milestones: tuple[float, ...] = option(
        (0.5, 0.75), doc="multistep: increasing fractions of training in (0, 1)"
    )
    lr_gamma: float = option(0.1, gt=0, le=1, doc="multistep: factor at each milestone")
    step_epochs: int = option(
        20, api=True, ge=1, doc="step: epochs between two decays (the Keras recipe: 20)"
    )
    step_gamma: float = option(
        0.5,
        api=True,
        gt=0,
        le=1,
        doc="step: factor at each decay (the Keras reproduction: 0.5 for VGG, 0.1 for ResNets)",
    )
    lr_decay: float = option(
        0.0,
        api=True,
        ge=0,
        le=1,
        doc="Keras' time-based decay: the scheduled rate divided by 1 + lr_decay x steps "
        "taken (the Keras reproduction: 1e-4 for ResNets, 1e-6 for VGG); 0: off",
    )
    warmup: str = option(
        "auto",
        choices=WARMUP_MODES,
        doc="`auto`: on for the paper's networks (`resnet`, `plain`) of depth >= 110, as in "
        "the paper (the Keras reproduction has none); `on`; `off`",
    )
    warmup_learning_rate: float = option(
        0.01, gt=0, doc="lr while warming up (section 4.2, ResNet-110)"
    )
    warmup_until_error: float = option(
        0.8, ge=0, le=1, doc="leave warm-up once the training error falls below this"
    )
    warmup_max_iterations: int = option(
        2000, ge=0, doc="leave warm-up after this many steps regardless"
    )
    # --- mode ---
    train_mode: str = option(
        "end_to_end",
        api=True,
        choices=TRAIN_MODES,
        doc="`end_to_end`, or `frozen_base`: only a new classifier learns, on top of the "
        "network of `init_from`",
    )
    init_weights: str | None = option(
        None, doc="path to a state_dict to start from (needed by frozen_base)"
    )
    # --- execution ---
    seed: int = option(
        0,
        api=True,
        ge=0,
        le=SEED_MAX,
        doc="fixes initialisation, data order and augmentation; CPU runs repeat exactly",
    )
    device: str = option("auto", doc="`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`")
    precision: str = option(
        "auto",
        choices=PRECISIONS,
        doc="`auto`: fp32 on the CPU; on CUDA bf16 autocast from Ampere (sm_80) on, before it "
        "fp16 with a gradient scaler; or fixed",
    )
    channels_last: bool = option(True, doc="NHWC memory format for the convolutions")
    compile: str = option(
        "auto",
        api=True,
        choices=COMPILE_MODES,
        doc="torch.compile the training and evaluation steps (CUDA graphs on a GPU): `on`, "
        "`off`, or `auto`: on for CUDA runs of at least 30 epochs, which repay the compile time",
    )
    eval_batch_size: int = option(1000, ge=1, doc="images per evaluation step")

    @property
    def num_classes(self) -> int:
        return DATASETS[self.dataset]

    def __post_init__(self) -> None:
        if isinstance(self.lr_milestones, list):  # from JSON; the field stays hashable
            object.__setattr__(self, "lr_milestones", tuple(self.lr_milestones))
        problems = config_problems(self)
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


@dataclass(frozen=True)
class Setting:
    """One declared field: its name, Python type, default and `Option`."""

    name: str
    type: Any
    default: Any
    option: Option


@functools.cache
def settings() -> tuple[Setting, ...]:
    """Every TrainConfig field, in declaration order."""
    hints = typing.get_type_hints(TrainConfig)
    return tuple(
        Setting(f.name, hints[f.name], f.default, f.metadata["option"])
        for f in dataclasses.fields(TrainConfig)
    )


def api_settings() -> tuple[Setting, ...]:
    """The fields a `POST /jobs` body may set, in declaration order."""
    return tuple(s for s in settings() if s.option.api)


def _value_problem(setting: Setting, value: object) -> str | None:
    """The type, choice and bound checks every field's metadata implies."""
    name, opt, kind = setting.name, setting.option, setting.type
    if opt.choices is not None:
        if value in opt.choices:
            return None
        return f"{name} must be one of {', '.join(map(repr, opt.choices))}, got {value!r}"
    if kind is bool:
        return None if isinstance(value, bool) else f"{name} must be true or false, got {value!r}"
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{name} must be an integer, got {value!r}"
    elif kind is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):  # type: ignore[arg-type]
            return f"{name} must be a finite number, got {value!r}"
    else:
        return None
    bounds = opt.bounds()
    assert isinstance(value, (int, float))
    broken = (
        ("ge" in bounds and not value >= bounds["ge"])
        or ("gt" in bounds and not value > bounds["gt"])
        or ("le" in bounds and not value <= bounds["le"])
        or ("lt" in bounds and not value < bounds["lt"])
    )
    return f"{name} must be {describe_bounds(opt)}, got {value!r}" if broken else None


def describe_bounds(opt: Option) -> str:
    """'>= 0 and < 1' for an option's bounds."""
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{signs[k]} {v:g}" for k, v in opt.bounds().items())


def config_problems(config: TrainConfig) -> list[str]:
    """Every invalid field of a configuration, each message naming the field and what is allowed."""
    checks = [_value_problem(s, getattr(config, s.name)) for s in settings()]
    if not checks[[s.name for s in settings()].index("depth")]:
        checks.append(depth_problem(config.architecture, config.depth))
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
    if config.shortcut in SHORTCUTS:
        checks.append(shortcut_problem(config.architecture, config.shortcut))
    if config.nesterov is True and config.momentum == 0:
        checks.append("nesterov needs momentum > 0")
    if config.train_mode == "frozen_base" and not config.init_weights:
        checks.append("init_weights must name a weights file when train_mode is 'frozen_base'")
    if config.init_weights is not None and not isinstance(config.init_weights, str):
        checks.append(f"init_weights must be a path or None, got {config.init_weights!r}")
    if not isinstance(config.data_dir, str) or not config.data_dir:
        checks.append(f"data_dir must be a non-empty path, got {config.data_dir!r}")
    return [c for c in checks if c]


def spec_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each rule that a job's values break, exactly as TrainConfig would
    refuse them; the settings a service fills in itself (data_dir, device, init_weights) are
    taken as valid. The API calls this so that no rule between fields is written twice."""
    fields = {s.name: s.default for s in settings()}
    fields.update({k: v for k, v in values.items() if k in fields})
    if fields["train_mode"] == "frozen_base":
        fields["init_weights"] = "weights.pt"  # the service resolves init_from into a file
    config = typing.cast(TrainConfig, types.SimpleNamespace(**fields))
    problems = []
    for problem in config_problems(config):
        name = problem.split(" ", 1)[0]
        problems.append((name if name in fields else "body", problem))
    return problems
