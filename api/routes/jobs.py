"""/jobs: submit, list, read, follow, download, cancel and delete training jobs (the routes; what
they answer besides success is documented in api/routes/job_docs.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import (
    CurrentOwner,
    JobId,
    QueueDep,
    SessionDep,
    SettingsDep,
    db_route,
    in_thread,
    services,
)
from api.job_files.weight_files import FORMAT_DOC, WeightsFormat, weights_download
from api.job_state.queue_place import with_queue_place
from api.job_state.running_progress import with_progress
from api.pagination import decode_cursor, encode_cursor
from api.routes import job_docs as docs
from api.schemas import examples
from api.schemas.request import JobRequest
from api.schemas.text import PlainText
from api.schemas.views import AttemptEnvironment, JobPage, JobView, MetricsView, job_view
from api.submission.job_submission import submit_job
from core.spec import DATASET_NAMES, SEED_MAX
from core.store.attempts import attempts_of
from core.store.jobs import (
    epoch_metrics,
    get_job,
    get_job_and_latest_metrics,
    latest_metrics,
    latest_metrics_of,
    list_jobs,
    request_cancel,
)
from core.store.storage import delete_job_data
from core.store.tables import Job, JobStatus, Owner

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _view(session: Session, job: Job) -> JobView:
    return job_view(
        job, latest_metrics(session=session, job_id=job.id) if job.epochs_done else None
    )


@router.post(
    "",
    summary="Submit a job",
    response_model=JobView,
    status_code=status.HTTP_201_CREATED,
    responses=docs.CREATE,
)
async def create(
    request: Annotated[JobRequest, Body(openapi_examples=examples.REQUESTS)],
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    response: Response,
    http: Request,
    idempotency_key: Annotated[
        PlainText | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="a retried request with the same key and body returns the first job "
            "(200) instead of creating another; the same key with another body is a 422",
        ),
    ] = None,
) -> JobView:
    """Submit a training job; it is queued at once and runs when a worker is free."""
    job, created = await submit_job(
        sessions=services(http).sessions,
        settings=settings,
        queue=queue,
        owner=owner,
        request=request,
        idempotency_key=idempotency_key,
    )
    if created:
        return job_view(job, None)
    response.status_code = status.HTTP_200_OK
    return await in_thread(session, _view, job)


@router.get(
    "",
    summary="List your jobs",
    response_model=JobPage,
    responses=docs.LIST,
)
@db_route
def list_(
    owner: CurrentOwner,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100, description="jobs per page")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    status_: Annotated[
        JobStatus | None, Query(alias="status", description="only jobs in this state")
    ] = None,
) -> JobPage:
    """Your jobs, newest first, a page at a time."""
    before = decode_cursor(cursor) if cursor is not None else None
    jobs = list_jobs(
        session=session, owner_id=owner.id, limit=limit + 1, status=status_, before=before
    )
    page, more = jobs[:limit], len(jobs) > limit
    latest = latest_metrics_of(session=session, job_ids=[job.id for job in page if job.epochs_done])
    return JobPage(
        jobs=[job_view(job, latest.get(job.id)) for job in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None,
    )


@router.get(
    "/{job_id}",
    summary="Read a job",
    response_model=JobView,
    responses=docs.READ,
)
@db_route
def read(job_id: JobId, owner: CurrentOwner, session: SessionDep, settings: SettingsDep) -> JobView:
    """A job: status, progress (inside the running epoch too, with an ETA), latest metrics,
    results or error."""
    job, latest = get_job_and_latest_metrics(session=session, owner_id=owner.id, job_id=job_id)
    view = with_queue_place(job_view(job, latest), session, job)
    view.environments = [
        AttemptEnvironment.model_validate(row, from_attributes=True)
        for row in attempts_of(session=session, job_id=job.id)
    ]
    return with_progress(view, settings, session)


@router.get(
    "/{job_id}/metrics",
    summary="Per-epoch metrics",
    response_model=MetricsView,
    responses=docs.METRICS,
)
@db_route
def metrics(job_id: JobId, owner: CurrentOwner, session: SessionDep) -> MetricsView:
    """The job's per-epoch training and test metrics, in epoch order."""
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    return MetricsView(job_id=job.id, records=epoch_metrics(session=session, job_id=job.id))  # type: ignore[arg-type]


@router.get(
    "/{job_id}/weights",
    summary="Download the weights",
    response_class=StreamingResponse,
    response_model=None,  # a file, not JSON
    responses=docs.WEIGHTS,
)
async def weights(
    job_id: JobId,
    owner: CurrentOwner,
    session: SessionDep,
    request: Request,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=1000)] = None,
    format_: Annotated[WeightsFormat, Query(alias="format", description=FORMAT_DOC)] = "pt",
) -> Response:
    """Download the trained weights of a succeeded job, or of a sweep's child stopped early
    (its weights at the epoch it stopped): .pt, .safetensors or .onnx."""
    return await weights_download(
        session=session,
        sessions=services(request).sessions,
        owner=owner,
        job_id=job_id,
        format_=format_,
        if_none_match=if_none_match,
    )


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a job",
    response_model=JobView,
    responses=docs.CANCEL,
)
async def cancel(
    job_id: JobId, owner: CurrentOwner, session: SessionDep, response: Response
) -> JobView:
    """Cancel a job: a queued one never runs, a running one stops between two batches."""
    view = await in_thread(session, _cancel, owner, job_id)
    if view.status == JobStatus.running:
        response.status_code = status.HTTP_202_ACCEPTED
    return view


def _cancel(session: Session, owner: Owner, job_id: uuid.UUID) -> JobView:
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    return _view(session, request_cancel(session=session, job=job))


class RerunRequest(BaseModel):
    """What a rerun may change: only the seed; everything else is the original's resolved spec."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"seed": 7}]})

    seed: int | None = Field(
        default=None, ge=0, le=SEED_MAX, description="a new seed; omitted: the original's seed"
    )


@router.post(
    "/{job_id}/rerun",
    summary="Run a job again",
    response_model=JobView,
    status_code=status.HTTP_201_CREATED,
    responses=docs.CREATE,
)
async def rerun(
    job_id: JobId,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    http: Request,
    body: Annotated[RerunRequest | None, Body()] = None,
) -> JobView:
    """Submit a new job with the same resolved spec (a deleted job's spec is kept), linked to
    it by `rerun_of`; on the CPU the same seed gives the same metrics and weights."""
    original = await in_thread(
        session, lambda s: get_job(session=s, owner_id=owner.id, job_id=job_id)
    )
    # An uploaded data set's facts are resolved again from its id, as for any submission.
    spec = {k: v for k, v in original.spec.items() if k not in DATASET_NAMES}
    if body is not None and body.seed is not None:
        spec["seed"] = body.seed
    job, _ = await submit_job(
        sessions=services(http).sessions,
        settings=settings,
        queue=queue,
        owner=owner,
        request=JobRequest.model_validate(spec),
        idempotency_key=None,
        rerun_of=original.id,
    )
    return job_view(job, None)


@router.delete(
    "/{job_id}",
    summary="Delete a finished job's files",
    response_model=JobView,
    responses=docs.DELETE,
)
@db_route
def delete_(job_id: JobId, owner: CurrentOwner, session: SessionDep) -> JobView:
    """Delete a finished job's weights and other files; its record stays, marked deleted."""
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    return _view(session, delete_job_data(session=session, job=job))
