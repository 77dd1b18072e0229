"""How one field of a job's spec is declared: its meaning, allowed values and role (`option`).

The fields themselves are declared once, in `core.spec.job_settings` (the job's training
settings), `core.spec.train_config` (the machine's settings the trainer also needs) and
`core.spec.resolved` (the service's own fields of a stored spec).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass
from typing import Any, Literal

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
    """What a field means and which values it takes (the metadata of one declared field)."""

    doc: str
    api: Exposure = False
    choices: tuple[str, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    # A checkpoint made with another value is meaningless for the run (other fields may differ
    # on resuming, e.g. more epochs, another device).
    resume_must_match: bool = False

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
    resume_must_match: bool = False,
) -> Any:
    """A declared field with its meaning and allowed values (see `Option`)."""
    meta = Option(
        doc=doc,
        api=api,
        choices=choices,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        resume_must_match=resume_must_match,
    )
    return dataclasses.field(default=default, metadata={"option": meta})


@dataclass(frozen=True)
class Setting:
    """One declared field: its name, Python type, default and `Option`."""

    name: str
    type: Any
    default: Any
    option: Option


@functools.cache
def declared(cls: type) -> tuple[Setting, ...]:
    """Every field of a declaring dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return tuple(
        Setting(f.name, hints[f.name], f.default, f.metadata["option"])
        for f in dataclasses.fields(cls)
    )
