"""/jobs: submit, list, read, follow, download and cancel training jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from api import examples
from api.deps import CurrentOwner, QueueDep, SessionDep, SettingsDep, in_thread, services
from api.errors import ApiError, error_doc
from api.pagination import decode_cursor, encode_cursor
from api.queue import JobQueue
from api.schemas.request import JobRequest
from api.schemas.views import JobPage, JobView, MetricsView, job_view
from api.submit import QUEUE_DOWN, submit_job
from core.settings import Settings
from core.store.jobs import (
    epoch_metrics,
    get_job,
    get_job_and_latest_metrics,
    iter_weights,
    latest_metrics,
    latest_metrics_of,
    list_jobs,
    request_cancel,
    weights_info,
)
from core.store.tables import Job, JobStatus, Owner

router = APIRouter(prefix="/jobs", tags=["jobs"])

Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {
    401: error_doc("no valid API key", "unauthorized", "the API key is unknown or revoked")
}
NOT_FOUND: Responses = {
    404: error_doc("no such job among yours", "not_found", f"no job {examples.JOB_ID}"),
    422: error_doc(
        "the id is not a UUID", "validation_error", "job_id: Input should be a valid UUID"
    ),
}
NO_WEIGHTS = {
    JobStatus.queued: "job is queued; weights are available once it has succeeded",
    JobStatus.running: "job is running; weights are available once it has succeeded",
    JobStatus.failed: "job failed; it has no weights",
    JobStatus.cancelled: "job was cancelled; it has no weights",
}
JobId = Annotated[uuid.UUID, Path(description="the job's id, as POST /jobs returned it")]


def _view(session: Session, job: Job) -> JobView:
    return job_view(
        job, latest_metrics(session=session, job_id=job.id) if job.epochs_done else None
    )


@router.post(
    "",
    summary="Submit a job",
    response_model=JobView,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": JobView,
            "description": "the job an earlier request with this Idempotency-Key created",
            "content": examples.job_examples("running"),
        },
        201: {"description": "created and queued", "content": examples.job_examples("queued")},
        **UNAUTHORIZED,
        422: error_doc(
            "a field is missing, of the wrong type or out of bounds; the cost is over the cap; "
            "init_from is unusable; or the Idempotency-Key was used with another body",
            "validation_error",
            "depth: must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, ...), got 55",
        ),
        429: error_doc(
            "too many of your jobs are queued; see Retry-After",
            "quota_exceeded",
            "owner has 100 queued jobs, the most allowed; wait for some to start",
        ),
        503: error_doc(
            "the queue or the database is down; nothing was created",
            "queue_unavailable",
            QUEUE_DOWN,
        ),
    },
)
async def create(
    request: Annotated[JobRequest, Body(openapi_examples=examples.REQUESTS)],
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
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
    view, created = await in_thread(
        session, _submit, settings, queue, owner, request, idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


def _submit(
    session: Session,
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: JobRequest,
    idempotency_key: str | None,
) -> tuple[JobView, bool]:
    job, created = submit_job(
        session=session,
        settings=settings,
        queue=queue,
        owner=owner,
        request=request,
        idempotency_key=idempotency_key,
    )
    return (job_view(job, None) if created else _view(session, job)), created


@router.get(
    "",
    summary="List your jobs",
    response_model=JobPage,
    responses={
        **UNAUTHORIZED,
        422: error_doc(
            "a bad query parameter", "validation_error", "cursor: not a cursor from this API"
        ),
    },
)
async def list_(
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
    return await in_thread(session, _page, owner, limit, status_, before)


def _page(
    session: Session,
    owner: Owner,
    limit: int,
    status_: JobStatus | None,
    before: tuple[datetime, uuid.UUID] | None,
) -> JobPage:
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
    responses={
        200: {
            "description": "the job",
            "content": examples.job_examples("queued", "running", "succeeded", "failed"),
        },
        **UNAUTHORIZED,
        **NOT_FOUND,
    },
)
async def read(job_id: JobId, owner: CurrentOwner, session: SessionDep) -> JobView:
    """A job: status, progress, latest metrics, results or error."""
    return await in_thread(session, _read, owner, job_id)


def _read(session: Session, owner: Owner, job_id: uuid.UUID) -> JobView:
    return job_view(*get_job_and_latest_metrics(session=session, owner_id=owner.id, job_id=job_id))


@router.get(
    "/{job_id}/metrics",
    summary="Per-epoch metrics",
    response_model=MetricsView,
    responses={**UNAUTHORIZED, **NOT_FOUND},
)
async def metrics(job_id: JobId, owner: CurrentOwner, session: SessionDep) -> MetricsView:
    """The job's per-epoch training and test metrics, in epoch order."""
    return await in_thread(session, _metrics, owner, job_id)


def _metrics(session: Session, owner: Owner, job_id: uuid.UUID) -> MetricsView:
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    return MetricsView(job_id=job.id, records=epoch_metrics(session=session, job_id=job.id))  # type: ignore[arg-type]


@router.get(
    "/{job_id}/weights",
    summary="Download the weights",
    response_class=StreamingResponse,
    response_model=None,  # a file, not JSON
    responses={
        200: {
            "description": "the trained state_dict, to load with torch.load(weights_only=True)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        304: {"description": "If-None-Match named this file's ETag: the copy you have is current"},
        **UNAUTHORIZED,
        **NOT_FOUND,
        409: error_doc("the job has no weights (yet)", "conflict", NO_WEIGHTS[JobStatus.running]),
    },
)
async def weights(
    job_id: JobId,
    owner: CurrentOwner,
    session: SessionDep,
    request: Request,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=1000)] = None,
) -> Response:
    """Download the trained weights of a succeeded job as a .pt file."""
    job, (size, sha256) = await in_thread(session, _weights_info, owner, job_id)
    etag = f'"{sha256}"'
    if if_none_match is not None and _etag_matches(if_none_match, sha256):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    name = f"{job.spec['architecture']}{job.spec['depth']}-{job.id}.pt"
    return StreamingResponse(
        _stream(services(request).sessions, job.id, size),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
            "ETag": etag,
        },
    )


def _weights_info(session: Session, owner: Owner, job_id: uuid.UUID) -> tuple[Job, tuple[int, str]]:
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    info = weights_info(session=session, job_id=job.id)
    if info is None:
        raise ApiError(409, "conflict", NO_WEIGHTS.get(job.status, "job has no weights"))
    return job, info


def _etag_matches(header: str, sha256: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or f'"{sha256}"' in tags


def _stream(sessions: sessionmaker[Session], job_id: uuid.UUID, size: int) -> Iterator[bytes]:
    # Its own session: the request's is closed by the time the body is sent.
    with sessions() as session:
        for part in iter_weights(session=session, job_id=job_id, size=size):
            # No connection held while the chunk goes out (Starlette reads each in a thread).
            session.commit()
            yield part


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a job",
    response_model=JobView,
    responses={
        200: {
            "description": "the job was queued and is now cancelled; it will never run",
            "content": examples.job_examples("cancelled"),
        },
        202: {
            "model": JobView,
            "description": "the job is running; it stops between two batches",
            "content": examples.job_examples("cancelling"),
        },
        **UNAUTHORIZED,
        **NOT_FOUND,
        409: error_doc(
            "the job has already finished",
            "conflict",
            f"job {examples.JOB_ID} is already succeeded; nothing to cancel",
        ),
    },
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
