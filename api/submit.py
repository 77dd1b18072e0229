"""Submitting a job, the one way through: validate, commit the row, then send its id.

A job is either in the database and on the queue, or nowhere: when the broker refuses the
message, the row is deleted again and the client is told that nothing was created.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.errors import RETRY_AFTER_S, ApiError, FieldError, invalid
from api.queue import JobQueue, QueueUnavailable
from api.schemas.request import JobRequest, check_limits, spec_hash
from core.settings import Settings
from core.store.jobs import create_job, delete_unsent_job, mark_enqueued
from core.store.tables import Job, JobStatus, Owner

log = logging.getLogger(__name__)

QUEUE_DOWN = "the job queue is unavailable; nothing was created, retry later"
# What must match between a job and the earlier job whose weights it starts from.
INHERITED = ("architecture", "depth", "shortcut")


def submit_job(
    *,
    session: Session,
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: JobRequest,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """The job, queued; and whether it is new (False: an earlier request had the same key)."""
    spec = request.resolve()
    check_limits(spec, settings)
    init_from_id = _check_init_from(session=session, owner=owner, spec=spec)
    job, created = create_job(
        session=session,
        owner_id=owner.id,
        spec=spec,
        max_queued=settings.max_queued_per_owner,
        init_from_id=init_from_id,
        idempotency_key=idempotency_key,
        request_hash=spec_hash(spec),
    )
    if created:
        try:
            queue.send(job.id)
        except QueueUnavailable:
            delete_unsent_job(session=session, job_id=job.id)
            raise ApiError(
                503, "queue_unavailable", QUEUE_DOWN, headers={"Retry-After": str(RETRY_AFTER_S)}
            ) from None
        if session.get_bind().dialect.name == "postgresql":
            # The mark only spares the outbox a re-send: losing it in a crash costs a second
            # message, which the worker's claim drops. So it need not wait for the WAL flush.
            session.execute(text("SET LOCAL synchronous_commit = off"))
        mark_enqueued(session=session, job_id=job.id)
        log.info("job %s of %s queued", job.id, owner.name)
    return job, created


def _check_init_from(*, session: Session, owner: Owner, spec: dict[str, Any]) -> uuid.UUID | None:
    if spec["init_from"] is None:
        return None
    job_id = uuid.UUID(spec["init_from"])
    earlier = session.get(Job, job_id)
    if earlier is None or earlier.owner_id != owner.id:
        raise invalid([FieldError.body("init_from", f"no succeeded job {job_id} of yours")])
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
    mismatched = [
        FieldError.body(
            key,
            f"must be {earlier.spec.get(key)!r} like init_from job {job_id}, "
            f"whose weights fit only that network",
        )
        for key in INHERITED
        if earlier.spec.get(key) != spec[key]
    ]
    if mismatched:
        raise invalid(mismatched)
    return job_id
