"""What a worker reads of one job it holds, or held: the store's answers, not its rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import Job, JobStatus


@dataclass(frozen=True)
class JobToTrain:
    """A running job as the holder of its lease trains it."""

    job_id: uuid.UUID
    spec: dict[str, Any]
    init_from_id: uuid.UUID | None
    run_seconds: float  # training time spent by earlier attempts


@dataclass(frozen=True)
class JobState:
    status: JobStatus
    lease_id: uuid.UUID | None
    enqueued_at: datetime | None  # NULL: no message is known to carry the job (the outbox)


def held_job(*, session: Session, job_id: uuid.UUID, lease_id: uuid.UUID) -> JobToTrain | None:
    """The job if it is running under `lease_id`; None once the lease is gone."""
    job = session.get(Job, job_id)
    if job is None or job.lease_id != lease_id or job.status != JobStatus.running:
        return None
    return JobToTrain(
        job_id=job.id,
        spec=dict(job.spec),
        init_from_id=job.init_from_id,
        run_seconds=job.run_seconds,
    )


def job_state(*, session: Session, job_id: uuid.UUID) -> JobState | None:
    """Where the job stands after its training process exited: status, lease, message."""
    row = session.execute(
        select(Job.status, Job.lease_id, Job.enqueued_at).where(Job.id == job_id)
    ).one_or_none()
    return None if row is None else JobState(status=row[0], lease_id=row[1], enqueued_at=row[2])


def epochs_done(*, session: Session, job_id: uuid.UUID) -> int:
    """Epochs the job has completed (recorded with their checkpoints)."""
    return session.scalar(select(Job.epochs_done).where(Job.id == job_id)) or 0
