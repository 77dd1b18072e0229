"""The trainer's configuration: a job's settings plus the machine's, and the rules between them.

`TrainConfig` is what `core.trainer` runs; the fields it adds to `JobSettings` describe the
machine (where the data is, which device), not the job, so they are never part of a job's spec
(`LOCAL_NAMES`). Its checks are the only statement of the rules between fields: the API asks them
too (`spec_problems`). Torch-free.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from core.architecture import (
    ARCHITECTURES,
    DATASET_CLASSES,
    SHORTCUTS,
    depth_problem,
    recipe_defaults,
    shortcut_problem,
)
from core.spec.job_settings import JobSettings
from core.spec.options import Option, Setting, declared, option


@dataclass(frozen=True)
class TrainConfig(JobSettings):
    """A job's settings (`JobSettings`) and where it runs."""

    dataset_file: str | None = option(
        None, doc="the canonical .npz of an uploaded data set (issue 19); the worker fills it in"
    )
    data_dir: str = option("data", doc="holds cifar-10-batches-py/ or cifar-100-python/")
    download: bool = option(False, doc="fetch missing files (torchvision's md5-checked download)")
    init_weights: str | None = option(
        None, doc="path to a state_dict to start from (needed by frozen_base)"
    )
    device: str = option("auto", doc="`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`")

    def __post_init__(self) -> None:
        if isinstance(self.lr_milestones, list):  # from JSON; the field stays hashable
            object.__setattr__(self, "lr_milestones", tuple(self.lr_milestones))
        problems = config_problems(self)
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems))

    @property
    def num_classes(self) -> int:
        if self.dataset in DATASET_CLASSES:
            return DATASET_CLASSES[self.dataset]
        if self.dataset_file is None:
            raise ValueError(f"dataset {self.dataset!r} has no dataset_file to read")
        return file_classes(self.dataset_file)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (tuples as lists), so the dict goes into JSON and torch.save as is."""
        values = dataclasses.asdict(self)
        values["lr_milestones"] = list(self.lr_milestones)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The given fields; each other field its architecture's recipe default where that
        departs from the declared one (core/architecture.py, RECIPE_DEFAULTS), else the declared
        default. (The constructor takes the declared defaults only: it cannot tell a field left
        out from one given its default value.)"""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {', '.join(unknown)}")
        architecture = values.get("architecture", cls.architecture)
        recipe = recipe_defaults(architecture) if architecture in ARCHITECTURES else {}
        values = {**recipe, **values}
        if "lr_milestones" in values:
            values["lr_milestones"] = tuple(values["lr_milestones"])
        return cls(**values)


def settings() -> tuple[Setting, ...]:
    """Every TrainConfig field: the job's settings in declaration order, then the machine's."""
    return declared(TrainConfig)


def api_settings() -> tuple[Setting, ...]:
    """The fields a `POST /jobs` body may set, in declaration order."""
    return tuple(s for s in settings() if s.option.api)


# Fields of the trainer's configuration that describe the machine, not the job.
LOCAL_NAMES = frozenset(s.name for s in settings()) - {s.name for s in declared(JobSettings)}
# Fields whose change makes a checkpoint meaningless for a run.
RESUME_MUST_MATCH = tuple(s.name for s in settings() if s.option.resume_must_match)


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


def dataset_problem(dataset: object, dataset_file: object) -> str | None:
    """A built-in data set's name, or an uploaded one's id with its canonical file."""
    if dataset in DATASET_CLASSES:
        return None
    try:
        uuid.UUID(str(dataset))
    except ValueError:
        names = ", ".join(map(repr, DATASET_CLASSES))
        return f"dataset must be one of {names} or the id of one of your data sets, got {dataset!r}"
    if not isinstance(dataset_file, str) or not dataset_file:
        return f"dataset {dataset} needs dataset_file, the path of its canonical .npz"
    return None


def file_classes(path: str) -> int:
    """The number of classes of a canonical data set file (core.datasets.canonical), from its
    `class_names` array's header alone."""
    import numpy as np  # only a config naming an uploaded data set needs it

    with zipfile.ZipFile(path) as archive, archive.open("class_names.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(member)
    return int(shape[0])


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
    checks.append(dataset_problem(config.dataset, config.dataset_file))
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
    if fields["dataset"] not in DATASET_CLASSES:
        fields["dataset_file"] = "dataset.npz"  # the worker fetches an uploaded data set
    config = typing.cast(TrainConfig, types.SimpleNamespace(**fields))
    problems = []
    for problem in config_problems(config):
        name = problem.split(" ", 1)[0]
        problems.append((name if name in fields else "body", problem))
    return problems
