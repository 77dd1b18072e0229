"""The body of `POST /sweeps` and what the API answers about sweeps (issue 10)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from api import sweep_examples
from api.schemas.early_stopping import EarlyStoppingRequest
from core.sweeps.presets import presets


class SweepRequest(BaseModel):
    """Many jobs from one request: a `grid` (field -> values, the cartesian product) and/or a
    random `search` (field -> distribution) over a `base` job, or a named `preset`. Fields of
    `POST /jobs` given at the top level override the base or the preset (e.g. `"epochs": 30`)."""

    # Unknown top-level keys are allowed only when they are fields of POST /jobs (checked with
    # the children: each child body must pass POST /jobs's own validation).
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    name: str | None = Field(default=None, max_length=200, description="a label for people")
    preset: str | None = Field(
        default=None, description="a named sweep; GET /sweeps/presets lists them"
    )
    seeds: StrictInt = Field(
        default=1, ge=1, le=100, description="runs of each configuration, with seeds 0..seeds-1"
    )
    base: dict[str, Any] = Field(
        default_factory=dict, description="a POST /jobs body that every child starts from"
    )
    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="POST /jobs field -> list of values; every combination is a child",
    )
    search: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='field -> one distribution: {"choice": [...]}, {"uniform": [lo, hi]}, '
        '{"log_uniform": [lo, hi]} or {"int_uniform": [lo, hi]}',
    )
    trials: StrictInt = Field(default=1, ge=1, description="random samples per grid point")
    search_seed: StrictInt = Field(
        default=0, ge=0, le=2**32 - 1, description="seeds the search: the same seed, the same jobs"
    )
    early_stopping: EarlyStoppingRequest | None = Field(
        default=None,
        description="stop unpromising children early on the validation error: ASHA or the "
        "median rule (issue 20); none by default, and the paper's presets never stop early",
    )
    reuse: StrictBool = Field(
        default=False,
        description="children that an earlier run of yours answers (the same resolved spec, "
        "seed included, data fingerprint and trainer version) reuse it instead of training; "
        "a finished sweep sent again with one more seed trains only the new runs (issue 20)",
    )
    priority: StrictInt = Field(
        default=0, ge=-10, le=10, description="among your queued jobs, higher runs first"
    )
    max_parallel: StrictInt | None = Field(
        default=None, ge=1, description="at most this many children running at once"
    )

    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PresetView(BaseModel):
    name: str
    description: str
    references: list[str] = Field(description="sources its report compares against")
    base: dict[str, Any]
    configurations: list[dict[str, Any]] = Field(description="one child per seed of each")


class PresetList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [sweep_examples.PRESETS]})

    presets: list[PresetView]


def preset_list() -> PresetList:
    return PresetList(
        presets=[
            PresetView(
                name=p.name,
                description=p.description,
                references=list(p.references),
                base=p.base,
                configurations=list(p.configurations),
            )
            for p in presets().values()
        ]
    )


class SweepChild(BaseModel):
    id: uuid.UUID
    point: dict[str, Any] = Field(description="its grid values")
    status: str
    epochs_done: int
    epochs: int
    final_test_error: float | None = Field(description="% after the last epoch, once succeeded")
    early_stopping: dict[str, Any] | None = Field(
        default=None,
        description="a stopped child's decision: rule, epoch, rung (ASHA, 0-based) and "
        "rung_epoch, validation_error (%) and the reason (issue 20)",
    )


class SweepProgress(BaseModel):
    finished: int = Field(
        description="children that ended (succeeded, failed, cancelled or stopped early)"
    )
    total: int
    epochs_done: int
    epochs: int
    fraction: float = Field(description="epochs done / epochs of all children, 0 to 1")


class SweepLinks(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self")
    report: str
    figure: str
    cancel: str


class SweepView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [sweep_examples.SWEEP]})

    id: uuid.UUID
    name: str | None
    preset: str | None
    priority: int
    max_parallel: int | None
    cancel_requested: bool
    counts: dict[str, int] = Field(description="children by status")
    progress: SweepProgress
    varying: list[str] = Field(description="the fields that differ between children")
    children: list[SweepChild]
    created_at: datetime
    links: SweepLinks


class SweepPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sweeps": [sweep_examples.SWEEP], "next_cursor": None}]}
    )

    sweeps: list[SweepView] = Field(description="newest first")
    next_cursor: str | None
