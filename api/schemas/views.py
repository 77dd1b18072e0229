"""What the API answers about jobs, built from the store's rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api import examples
from api.schemas.request import Architecture, Dataset, Schedule, Shortcut, TrainMode
from core.store.tables import EpochRecord, Job, JobStatus

BEST_ON_TEST_SET = (
    "the highest test accuracy of any epoch, selected on the test set itself and therefore "
    "optimistic; report final_test_accuracy (the last epoch's), as the paper does"
)


class JobSpec(BaseModel):
    """The resolved request: every hyperparameter the run used, enough to repeat it exactly."""

    architecture: Architecture
    depth: int
    epochs: int
    dataset: Dataset
    batch_size: int
    learning_rate: float
    momentum: float
    weight_decay: float
    lr_schedule: Schedule
    augment: bool
    seed: int
    train_mode: TrainMode
    shortcut: Shortcut
    init_from: uuid.UUID | None


class Progress(BaseModel):
    epochs_done: int
    epochs: int
    fraction: float = Field(description="epochs_done / epochs, 0 to 1")


class EpochMetrics(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    epoch: int = Field(description="1-based")
    train_loss: float
    train_accuracy: float = Field(description="0 to 1, on the augmented training batches")
    test_loss: float
    test_accuracy: float = Field(description="0 to 1, on the 10,000 test images")
    learning_rate: float = Field(description="at the epoch's end")
    seconds: float = Field(description="wall time of the epoch, evaluation included")
    images_per_second: float = Field(description="training throughput")


class BestOnTestSet(BaseModel):
    test_accuracy: float
    epoch: int
    description: str = BEST_ON_TEST_SET


class JobError(BaseModel):
    code: str = Field(description="stable, e.g. worker_lost, timeout, out_of_memory")
    message: str


class Links(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self")
    metrics: str
    weights: str
    cancel: str


class JobView(BaseModel):
    """A job as its owner sees it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.RUNNING_JOB]})

    id: uuid.UUID
    status: JobStatus
    spec: JobSpec
    progress: Progress
    latest_metrics: EpochMetrics | None = Field(description="the latest epoch's record")
    final_test_accuracy: float | None = Field(
        description="the headline figure: test accuracy after the final epoch (0 to 1)"
    )
    final_test_loss: float | None
    best_on_test_set: BestOnTestSet | None = Field(description=BEST_ON_TEST_SET)
    results: dict[str, Any] | None = Field(
        description="per-class test accuracy and the confusion matrix, once succeeded"
    )
    error: JobError | None = Field(description="why the job failed")
    attempts: int = Field(description="deliveries to a worker that ran it")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: Links


class JobPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"jobs": [examples.RUNNING_JOB], "next_cursor": None}]}
    )

    jobs: list[JobView] = Field(description="newest first")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class MetricsView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.METRICS]})

    job_id: uuid.UUID
    records: list[EpochMetrics] = Field(description="one per finished epoch, in order")


def job_view(job: Job, latest: EpochRecord | None) -> JobView:
    spec = JobSpec.model_validate(job.spec)
    path = f"/jobs/{job.id}"
    best = None
    if job.best_test_accuracy is not None and job.best_epoch is not None:
        best = BestOnTestSet(test_accuracy=job.best_test_accuracy, epoch=job.best_epoch)
    error = None
    if job.status == JobStatus.failed:
        error = JobError(code=job.error_code or "failed", message=job.error_message or "")
    return JobView(
        id=job.id,
        status=job.status,
        spec=spec,
        progress=Progress(
            epochs_done=job.epochs_done,
            epochs=spec.epochs,
            fraction=min(1.0, job.epochs_done / spec.epochs),
        ),
        latest_metrics=EpochMetrics.model_validate(latest) if latest is not None else None,
        final_test_accuracy=job.final_test_accuracy,
        final_test_loss=job.final_test_loss,
        best_on_test_set=best,
        results=job.results if job.status == JobStatus.succeeded else None,
        error=error,
        attempts=job.attempts,
        cancel_requested=job.cancel_requested,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        links=Links.model_validate(
            {
                "self": path,
                "metrics": f"{path}/metrics",
                "weights": f"{path}/weights",
                "cancel": f"{path}/cancel",
            }
        ),
    )
