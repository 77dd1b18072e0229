"""Jobs by the worker that holds them: what a restarted worker takes back from its dead self."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import Job, JobStatus


@dataclass(frozen=True)
class Holding:
    job_id: uuid.UUID
    lease_id: uuid.UUID
    worker: str  # the holder as its claim recorded it


def running_jobs_of(*, session: Session, worker_prefix: str) -> list[Holding]:
    """Running jobs whose holder's name starts with `worker_prefix` (taken literally)."""
    rows = session.execute(
        select(Job.id, Job.lease_id, Job.worker).where(
            Job.status == JobStatus.running,
            Job.worker.startswith(worker_prefix, autoescape=True),
        )
    )
    return [
        Holding(job_id=job_id, lease_id=lease_id, worker=worker)
        for job_id, lease_id, worker in rows
        if lease_id is not None and worker is not None
    ]
