"""What the API answers about jobs, built from the store's rows."""

from __future__ import annotations

import typing
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.schemas import examples
from api.schemas.request import spec_fields
from core import metrics
from core.class_names import CLASS_NAMES
from core.spec import DATASET_NAMES, ResolvedSpec
from core.spec.options import declared
from core.store.tables import EpochRecord, Job
from core.vocabulary import FailureCode, JobStatus

BEST_ON_TEST_SET = (
    "the highest test accuracy of any epoch, selected on the test set itself and therefore "
    "optimistic; report final_test_accuracy (the last epoch's), as the paper does"
)


def _spec_model() -> type[BaseModel]:
    """The resolved request: every hyperparameter the run used, enough to repeat it exactly."""
    # An uploaded data set's facts, written at submission (issue 19); null for a built-in one.
    uploaded: dict[str, Any] = {
        s.name: (s.type, Field(None, description=s.option.doc))
        for s in declared(ResolvedSpec)
        if s.name in DATASET_NAMES
    }
    return create_model(
        "JobSpec",
        __doc__=_spec_model.__doc__,
        init_from=(uuid.UUID | None, None),
        **spec_fields(request=False),
        **uploaded,
    )


def _metrics_model() -> type[BaseModel]:
    """One epoch's record (core.metrics.EpochMetrics)."""
    hints = typing.get_type_hints(metrics.EpochMetrics)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], Field(description=f.metadata["doc"]))
        for f in metrics.metric_fields()
    }
    return create_model("EpochMetrics", __config__=ConfigDict(from_attributes=True), **fields)


if TYPE_CHECKING:  # the checker sees plain models; the fields exist at run time

    class JobSpec(BaseModel): ...

    class EpochMetrics(BaseModel): ...

else:
    JobSpec = _spec_model()
    EpochMetrics = _metrics_model()


class Progress(BaseModel):
    epochs_done: int
    epochs: int
    fraction: float = Field(description="epochs_done / epochs, 0 to 1")
    # Inside the running epoch (issue 8): the training process's latest report, while recent.
    epoch: int | None = Field(default=None, description="the epoch in progress, 1-based")
    batch: int | None = Field(default=None, description="batches done in that epoch")
    batches_per_epoch: int | None = None
    images_per_second: float | None = Field(default=None, description="measured this epoch")
    epoch_eta_seconds: float | None = Field(
        default=None, description="estimated seconds to the end of this epoch"
    )
    eta_seconds: float | None = Field(
        default=None, description="estimated seconds to the end of the job, from measured speed"
    )
    reported_at: datetime | None = Field(default=None, description="when it was measured")


class BestOnTestSet(BaseModel):
    test_accuracy: float = Field(description="a fraction, 0 to 1")
    epoch: int
    description: str = BEST_ON_TEST_SET


class JobError(BaseModel):
    code: FailureCode = Field(description="stable, for programs: why the job failed")
    message: str


class Links(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self")
    metrics: str
    weights: str
    cancel: str
    sweep: str | None = Field(default=None, description="the sweep this job is a child of")


class QueuePlace(BaseModel):
    """Where a queued job stands (issue 11)."""

    position: int = Field(description="1: the next job a free worker takes")
    jobs_ahead: int = Field(description="every owner's queued jobs created before this one")
    running: int = Field(description="jobs running now")
    expected_start: datetime | None = Field(description="null when there is no basis for one")
    method: str = Field(description="how expected_start was made, or why there is none")


class AttemptEnvironment(BaseModel):
    """What one attempt ran on, as its training process recorded it before training."""

    attempt: int
    worker: str | None
    started_at: datetime
    environment: dict[str, Any] = Field(
        description="service_version, source_revision, python, torch, torchvision, cuda, cudnn "
        "(null on the CPU), device, precision, compiled, dataset_sha256 ({file: sha256})"
    )


class JobView(BaseModel):
    """A job as its owner sees it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.RUNNING_JOB]})

    id: uuid.UUID
    status: JobStatus
    spec: JobSpec
    progress: Progress
    latest_metrics: EpochMetrics | None = Field(description="the latest epoch's record")
    final_test_accuracy: float | None = Field(
        description="the headline figure: test accuracy after the final epoch, a fraction "
        "(0 to 1), not a percentage"
    )
    final_test_loss: float | None
    best_on_test_set: BestOnTestSet | None = Field(description=BEST_ON_TEST_SET)
    results: dict[str, Any] | None = Field(
        description="the class names (in label order), per-class test accuracy and the "
        "confusion matrix, once succeeded; once stopped early, also `early_stopping`: the "
        "rule, epoch, rung and why (issue 20)"
    )
    error: JobError | None = Field(description="why the job failed")
    attempts: int = Field(description="deliveries to a worker that ran it")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # A deleted job (issue 7) keeps its record; its weights, checkpoint and other files are gone.
    deleted: bool = Field(
        default=False, description="the job's files were deleted; its record stays, as here"
    )
    deleted_at: datetime | None = Field(default=None, description="when its files were deleted")
    deleted_reason: Literal["owner", "retention"] | None = Field(
        default=None,
        description="owner: DELETE /jobs/{id}; retention: a failed or cancelled job past the "
        "service's retention period",
    )
    queue: QueuePlace | None = Field(
        default=None, description="a queued job's place and expected start (GET /jobs/{id})"
    )
    rerun_of: uuid.UUID | None = Field(
        default=None, description="the job this one repeats (POST /jobs/{id}/rerun)"
    )
    reused_from: uuid.UUID | None = Field(
        default=None,
        description="the earlier run whose results this job reuses instead of training (`reuse`)",
    )
    sweep_id: uuid.UUID | None = Field(
        default=None, description="the sweep this job is a child of (POST /sweeps)"
    )
    sweep_point: dict[str, Any] | None = Field(
        default=None, description='its values of the sweep\'s grid or search, e.g. {"depth": 56}'
    )
    environments: list[AttemptEnvironment] | None = Field(
        default=None,
        description="GET /jobs/{id}: each attempt's environment (versions, device, precision, "
        "torch.compile, the dataset files' sha256), one per attempt that started training",
    )
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


def _results(job: Job) -> dict[str, Any] | None:
    # A stopped child's results say why it stopped (issue 20).
    if job.status not in (JobStatus.succeeded, JobStatus.stopped) or job.results is None:
        return None
    if "classes" in job.results or job.spec["dataset"] not in CLASS_NAMES:
        return job.results  # an uploaded data set's results always carry its names (issue 19)
    # Stored before results carried their class names: the data set's, in label order.
    return {"classes": list(CLASS_NAMES[job.spec["dataset"]]), **job.results}


def job_view(job: Job, latest: EpochRecord | None) -> JobView:
    spec = JobSpec.model_validate(job.spec)
    path = f"/jobs/{job.id}"
    best = None
    if job.best_test_accuracy is not None and job.best_epoch is not None:
        best = BestOnTestSet(test_accuracy=job.best_test_accuracy, epoch=job.best_epoch)
    error = None
    if job.status == JobStatus.failed:
        error = JobError(
            code=FailureCode(job.error_code or FailureCode.failed), message=job.error_message or ""
        )
    return JobView(
        id=job.id,
        status=job.status,
        spec=spec,
        progress=Progress(
            epochs_done=job.epochs_done,
            epochs=job.spec["epochs"],
            fraction=min(1.0, job.epochs_done / job.spec["epochs"]),
        ),
        latest_metrics=EpochMetrics.model_validate(latest) if latest is not None else None,
        final_test_accuracy=job.final_test_accuracy,
        final_test_loss=job.final_test_loss,
        best_on_test_set=best,
        results=_results(job),
        error=error,
        attempts=job.attempts,
        cancel_requested=job.cancel_requested,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        deleted=job.deleted_at is not None,
        deleted_at=job.deleted_at,
        deleted_reason=job.deleted_reason,  # type: ignore[arg-type]  # a DeletedBy value
        rerun_of=job.rerun_of,
        reused_from=job.reused_from,
        sweep_id=job.sweep_id,
        sweep_point=job.sweep_point,
        links=Links.model_validate(
            {
                "self": path,
                "metrics": f"{path}/metrics",
                "weights": f"{path}/weights",
                "cancel": f"{path}/cancel",
                "sweep": f"/sweeps/{job.sweep_id}" if job.sweep_id else None,
            }
        ),
    )
