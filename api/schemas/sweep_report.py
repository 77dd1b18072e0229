"""The sweep report of GET /sweeps/{id}/report?format=json as typed models (issues 10, 18), so
that clients generated from the schema read its rows with types. core/sweeps/sweep_report.py
builds it; every error is a fraction in [0, 1] (x 100 for the paper's %), as in all of the
API's JSON. The Markdown and CSV formats, read by people, show %."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import sweep_examples

FRACTION = "a fraction in [0, 1], not a percentage"


class ErrorSpread(BaseModel):
    """A test (or validation) error over a configuration's finished seeds."""

    mean: float = Field(description=f"mean over the seeds; {FRACTION}")
    std: float = Field(
        description=f"sample standard deviation (n - 1) over the seeds; {FRACTION}; 0 for a "
        "single run, whose spread is undefined (the CSV leaves it empty)"
    )
    min: float = Field(description=FRACTION)
    max: float = Field(description=FRACTION)
    n: int = Field(description="the finished runs it is taken over")


class PublishedReference(BaseModel):
    error: float = Field(description=f"the published test error; {FRACTION}")
    source: str = Field(description="the source's id (GET /sweeps/presets names them)")
    title: str
    url: str
    selection: str = Field(
        description="`final` (last epoch) or `best` (lowest over epochs, on the test set)"
    )
    approximate: bool = Field(description="read off a figure rather than a table")
    note: str | None
    difference: float | None = Field(
        description=f"this service's mean final error minus the published one; {FRACTION} "
        "(negative: lower error here); null until a run has finished"
    )


class ReportCurves(BaseModel):
    epoch: list[int] = Field(description="1, 2, ...: the epochs any finished run reached")
    train_error: list[float] = Field(
        description=f"per epoch, the mean over the runs that reached it; {FRACTION}"
    )
    test_error: list[float] = Field(description=f"per epoch, as train_error; {FRACTION}")


class SweepReportRow(BaseModel):
    """One configuration: a grid point without its seed; its runs are the seeds."""

    configuration: dict[str, Any] = Field(description="its grid values, the seed left out")
    architecture: str
    depth: int
    dataset: str
    runs_finished: int = Field(description="runs that succeeded with at least one epoch")
    runs_total: int
    runs_stopped: int = Field(description="runs its sweep's early-stopping rule stopped")
    final_error: ErrorSpread | None = Field(
        description="test error after the last epoch; null until a run has finished"
    )
    best_on_test_set_error: ErrorSpread | None = Field(
        description="lowest test error over epochs, selected on the test set (optimistic)"
    )
    final_validation_error: ErrorSpread | None = Field(
        description="validation error after the last epoch; null without a validation split"
    )
    reference: PublishedReference | None = Field(
        description="the published figure for this network and data set, if a source has one"
    )
    curves: ReportCurves


class SelectedConfiguration(BaseModel):
    rule: str = Field(description="how it was chosen, in words")
    configuration: dict[str, Any]
    validation_error: ErrorSpread | None
    test_error: ErrorSpread
    candidates: int = Field(description="the configurations it was chosen among")


class ReportSelection(BaseModel):
    on_validation: SelectedConfiguration | None = Field(
        description="the lowest mean validation error: its test error is an unbiased estimate"
    )
    on_test_set: SelectedConfiguration | None = Field(
        description="the lowest mean final test error, selected on the test set (optimistic)"
    )


class SweepReport(BaseModel):
    """GET /sweeps/{id}/report?format=json: one row per configuration, beside the paper."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [sweep_examples.REPORT_CONTENT["application/json"]]}
    )

    sweep_id: uuid.UUID
    name: str | None
    preset: str | None
    definitions: dict[str, str] = Field(
        description="what final, best and each selection mean; `unit`: `fraction` (every "
        "error of the report is a fraction in [0, 1])"
    )
    rows: list[SweepReportRow] = Field(description="in the order the configurations first appear")
    selection: ReportSelection
