"""The body of `POST /sweeps` and what the API answers about sweeps (issue 10)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from api.errors import FieldError
from api.schemas import sweep_examples
from api.schemas.early_stopping import EarlyStoppingRequest
from api.schemas.request import bound_problems
from api.schemas.text import PlainText
from core.settings import Settings
from core.store.tables import Job, Sweep
from core.sweeps.presets import presets
from core.vocabulary import JobStatus


class SweepRequest(BaseModel):
    """Many jobs from one request: a `grid` (field -> values, the cartesian product) and/or a
    random `search` (field -> distribution) over a `base` job, or a named `preset`. Fields of
    `POST /jobs` given at the top level override the base or the preset (e.g. `"epochs": 30`)."""

    # Unknown top-level keys are allowed only when they are fields of POST /jobs (checked with
    # the children: each child body must pass POST /jobs's own validation).
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    name: PlainText | None = Field(
        default=None, max_length=200, description="a label for people (no control characters)"
    )
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
    trials: StrictInt = Field(
        default=1, ge=1, le=10_000, description="random samples per grid point"
    )
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
        default=None, ge=1, le=10_000, description="at most this many children running at once"
    )

    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def sweep_bound_problems(body: dict[str, Any], settings: Settings) -> list[FieldError]:
    """The deployment's bounds (depth, epochs, batch_size) broken by a sweep body's `base`, its
    top-level job fields and each `grid` value. Run before the children are expanded, and on a
    body the request model refused, so that one 422 names every field at fault (issue 18)."""
    errors = bound_problems(body, settings)  # the top-level job fields override the base
    base = body.get("base")
    if isinstance(base, dict):
        errors += [
            FieldError.body(f"base.{found.field}", found.reason)
            for found in bound_problems(base, settings)
            if found.field not in body
        ]
    grid = body.get("grid")
    for name, values in (grid or {}).items() if isinstance(grid, dict) else ():
        refused: dict[str, list[Any]] = {}
        for value in values if isinstance(values, list) else ():
            for found in bound_problems({name: value}, settings):
                refused.setdefault(found.reason, []).append(value)
        errors += [
            FieldError.body(f"grid.{name}", f"{', '.join(map(str, bad))}: {reason}")
            for reason, bad in refused.items()
        ]
    return errors


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
    status: JobStatus
    epochs_done: int
    epochs: int
    final_test_error: float | None = Field(
        description="after the last epoch, once succeeded: a fraction in [0, 1] (1 - the "
        "job's final_test_accuracy), not a percentage"
    )
    early_stopping: dict[str, Any] | None = Field(
        default=None,
        description="a stopped child's decision: rule, epoch, rung (ASHA, 0-based) and "
        "rung_epoch, validation_error (a fraction) and the reason (issue 20)",
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


def sweep_view(sweep: Sweep, children: list[Job]) -> SweepView:
    """A sweep as its owner sees it, from its row and its children's."""
    counts = Counter(job.status.value for job in children)
    # A child stopped early has run all the epochs it will.
    epochs = sum(
        job.epochs_done if job.status == JobStatus.stopped else job.spec["epochs"]
        for job in children
    )
    done = sum(job.epochs_done for job in children)
    path = f"/sweeps/{sweep.id}"
    return SweepView(
        id=sweep.id,
        name=sweep.name,
        preset=sweep.preset,
        priority=sweep.priority,
        max_parallel=sweep.max_parallel,
        cancel_requested=sweep.cancel_requested,
        counts=dict(counts),
        progress=SweepProgress(
            finished=sum(1 for job in children if job.status.terminal),
            total=len(children),
            epochs_done=done,
            epochs=epochs,
            fraction=done / epochs if epochs else 0.0,
        ),
        varying=list(sweep.varying),
        children=[
            SweepChild(
                id=job.id,
                point=job.sweep_point or {},
                status=job.status,
                epochs_done=job.epochs_done,
                epochs=job.spec["epochs"],
                final_test_error=(
                    round(1 - job.final_test_accuracy, 6)  # 1e-6: 0.01 of 10,000 test images
                    if job.status == JobStatus.succeeded and job.final_test_accuracy is not None
                    else None
                ),
                early_stopping=(job.results or {}).get("early_stopping"),
            )
            for job in children
        ],
        created_at=sweep.created_at,
        links=SweepLinks.model_validate(
            {
                "self": path,
                "report": f"{path}/report",
                "figure": f"{path}/figure",
                "cancel": f"{path}/cancel",
            }
        ),
    )
