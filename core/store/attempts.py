"""Each attempt's environment: what a job ran on, so a number can be traced and repeated."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import Job, JobAttempt, JobStatus


def record_attempt(
    *, session: Session, job_id: uuid.UUID, lease_id: uuid.UUID, environment: dict[str, Any]
) -> bool:
    """Store the running attempt's environment; False (nothing written) once the lease is gone."""
    job = session.get(Job, job_id)
    if job is None or job.lease_id != lease_id or job.status != JobStatus.running:
        return False
    row = session.get(JobAttempt, (job_id, job.attempts))
    if row is None:
        row = JobAttempt(job_id=job_id, attempt=job.attempts, worker=job.worker, environment={})
        session.add(row)
    row.worker, row.environment = job.worker, environment
    session.commit()
    return True


def attempts_of(*, session: Session, job_id: uuid.UUID) -> list[JobAttempt]:
    """The job's recorded attempts, first first (one query)."""
    query = select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt)
    return list(session.scalars(query))
