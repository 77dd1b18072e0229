"""Submitting a job, the one way through: validate, commit the row, then send its id.

A job is either in the database and on the queue, or nowhere: when the broker refuses the
message, the row is deleted again and the client is told that nothing was created. No request
holds a database connection while the broker is called, and submissions run in threads of
their own: a broker outage costs the submissions a fast 503 and the reads nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.errors import RETRY_AFTER_S, ApiError, FieldError, invalid
from api.schemas.request import JobRequest, check_limits, submission_hash
from api.submission.dataset_availability import check_workers_have
from api.submission.job_queue import JobQueue
from api.submission.uploaded_dataset import resolve_uploaded
from core.messaging.producer import BrokerUnavailable, StoreCall, in_new_session, send_job
from core.settings import Settings
from core.spec import ResolvedSpec
from core.store.db import retry_conflicts
from core.store.errors import JobNotFound
from core.store.jobs import create_job, delete_unsent_job, get_job
from core.store.tables import Job, JobStatus, Owner
from core.store.webhook_deliveries import ensure_secret
from core.vocabulary import ErrorCode
from core.webhook_signing import new_secret
from core.webhook_urls import url_problem

log = logging.getLogger(__name__)

QUEUE_DOWN = "the job queue is unavailable; nothing was created, retry later"
# What must match between a job and the earlier job whose weights it starts from.
INHERITED = ("architecture", "depth", "shortcut")
# Submissions run in threads of their own, apart from the request threads and connections that
# reads use: a burst of submissions, or a broker that does not answer, queues here, never there.
# Each holds a database connection only for its database work, never across a broker call.
_SUBMIT_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="submit")
T = TypeVar("T")


async def submit_job(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: JobRequest,
    idempotency_key: str | None,
    rerun_of: uuid.UUID | None = None,
) -> tuple[Job, bool]:
    """The job, queued; and whether it is new (False: an earlier request had the same key)."""
    work = partial(_submit, sessions, settings, queue, owner, request, idempotency_key, rerun_of)
    return await in_submit_thread(work)


async def in_submit_thread(work: Callable[[], T]) -> T:
    """Run a submission in the submission threads. Not cancelled with the request: a client
    that hangs up leaves no half-made job (or sweep)."""
    return await asyncio.get_running_loop().run_in_executor(_SUBMIT_THREADS, work)


def _submit(
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: JobRequest,
    idempotency_key: str | None,
    rerun_of: uuid.UUID | None,
) -> tuple[Job, bool]:
    def accept() -> tuple[Job, bool]:
        with sessions() as session:
            return _accept(session, settings, owner, request, idempotency_key, rerun_of)

    # The insert may meet a worker's claim of the same owner's jobs in the other lock order
    # (a rerun of a job being claimed, for one): PostgreSQL ends one of the two.
    job, created = retry_conflicts(accept, what="job submission")
    if created and job.reused_from is not None:  # settled as it was created: nothing to send
        log.info("job %s of %s reuses job %s", job.id, owner.name, job.reused_from)
        return job, created
    if created:
        try:
            send_job(job.id, producer=queue, store=_mark_or_leave(sessions))
        except BrokerUnavailable:
            in_new_session(sessions)(lambda s: delete_unsent_job(session=s, job_id=job.id))
            retry = {"Retry-After": str(RETRY_AFTER_S)}
            raise ApiError(503, ErrorCode.queue_unavailable, QUEUE_DOWN, headers=retry) from None
        log.info("job %s of %s queued", job.id, owner.name)
    return job, created


def _accept(
    session: Session,
    settings: Settings,
    owner: Owner,
    request: JobRequest,
    idempotency_key: str | None,
    rerun_of: uuid.UUID | None = None,
) -> tuple[Job, bool]:
    """Validate the request and commit the job's row; nothing is sent yet."""
    spec = request.resolve()
    classes = resolve_uploaded(session=session, owner=owner, spec=spec)  # issue 19
    check_limits(spec, settings, classes=classes)
    init_from_id = check_init_from(session=session, owner=owner, spec=spec)
    check_workers_have(session=session, spec=spec)
    if request.webhook_url is not None:
        _check_webhook(request, settings)
        ensure_secret(session=session, owner_id=owner.id, new_secret=new_secret())
    elif request.webhook_events is not None:
        raise invalid([FieldError.body("webhook_events", "needs a webhook_url to send them to")])
    events = [e.value for e in request.webhook_events] if request.webhook_events else None
    job, created = create_job(
        session=session,
        owner_id=owner.id,
        spec=spec,
        max_queued=settings.max_queued_per_owner,
        max_stored_bytes=settings.storage_quota_bytes,
        compute_budget=settings.compute_budget_flops,
        init_from_id=init_from_id,
        idempotency_key=idempotency_key,
        request_hash=submission_hash(spec, request.webhook_url, events),
        webhook_url=request.webhook_url,
        webhook_events=events,
        rerun_of=rerun_of,
        reuse=request.reuse,
    )
    return job, created


def _mark_or_leave(sessions: sessionmaker[Session]) -> StoreCall:
    mark = in_new_session(sessions)

    def call(work: Callable[[Session], None]) -> None:
        try:
            mark(work)
        except SQLAlchemyError as error:
            # The job exists and its message is out: the client gets its 201. Unmarked, the
            # reaper's outbox sends it again, and the worker's claim drops the second message.
            log.warning("job sent, but not marked enqueued: %r", error)

    return call


def _check_webhook(request: JobRequest, settings: Settings) -> None:
    """A URL the service may call: https (or http where allowed), not resolving to a private,
    loopback, link-local or metadata address (checked again at each delivery)."""
    assert request.webhook_url is not None
    problem = url_problem(
        request.webhook_url,
        allow_private=settings.allow_private_webhooks,
        allow_http=settings.allow_http_webhooks,
    )
    if problem is not None:
        raise invalid([FieldError.body("webhook_url", problem)])


def check_init_from(*, session: Session, owner: Owner, spec: dict[str, Any]) -> uuid.UUID | None:
    if spec["init_from"] is None:
        return None
    job_id = uuid.UUID(spec["init_from"])
    try:
        earlier = get_job(session=session, owner_id=owner.id, job_id=job_id)
    except JobNotFound:
        reason = f"no succeeded job {job_id} of yours"
        raise invalid([FieldError.body("init_from", reason)]) from None
    if earlier.deleted_at is not None:
        raise invalid(
            [FieldError.body("init_from", f"job {job_id} was deleted; its weights are gone")]
        )
    if earlier.status != JobStatus.succeeded:
        raise invalid(
            [
                FieldError.body(
                    "init_from",
                    f"job {job_id} is {earlier.status.value}; only a succeeded job has weights "
                    "to start from",
                )
            ]
        )
    inherited = ResolvedSpec.from_stored(earlier.spec)
    mismatched = [
        FieldError.body(
            key,
            f"must be {getattr(inherited, key)!r} like init_from job {job_id}, "
            f"whose weights fit only that network",
        )
        for key in INHERITED
        if getattr(inherited, key) != spec[key]
    ]
    if mismatched:
        raise invalid(mismatched)
    return job_id
