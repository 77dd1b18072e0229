"""Retrying a sweep's failed points (issue 20): each failed or cancelled child gets a new
attempt, a job of the same point and resolved spec that names the one it replaces (`rerun_of`).

The sweep keeps one child per point: `current_attempts` puts a retry in the place of the child it
replaces, so the sweep's view, report and figure count each point once. An early-stopped child
is not retried: the sweep's own rule ended it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.store.events import record_new_jobs
from core.store.jobs import admit
from core.store.tables import Job, JobStatus, Sweep
from core.store.types import utcnow

RETRIED = (JobStatus.failed, JobStatus.cancelled)


def current_attempts(children: list[Job]) -> list[Job]:
    """Each point's latest attempt, in the place of its first (children in creation order)."""
    ids = {job.id for job in children}
    replacement = {job.rerun_of: job for job in children if job.rerun_of in ids}
    replacing = {id(job) for job in replacement.values()}
    current = []
    for job in children:
        if id(job) in replacing:
            continue  # it stands where the child it replaces stood
        while job.id in replacement:
            job = replacement[job.id]
        current.append(job)
    return current


def retry_sweep(
    *,
    session: Session,
    sweep: Sweep,
    max_queued: int,
    max_stored_bytes: int | None = None,
    compute_budget: float = 0.0,
) -> list[uuid.UUID]:
    """Queue a new attempt of every failed or cancelled current child, in one transaction; the
    new jobs' ids (none when nothing failed). Nothing is sent to the broker here."""
    query = select(Job).where(Job.sweep_id == sweep.id).order_by(Job.created_at, Job.id)
    children = current_attempts(list(session.scalars(query)))
    retried = [job for job in children if job.status in RETRIED]
    if not retried:
        return []
    admit(
        session=session,
        owner_id=sweep.owner_id,
        max_queued=max_queued,
        max_stored_bytes=max_stored_bytes,
        compute_budget=compute_budget,
        adding=[job.spec for job in retried],
    )
    now = utcnow()
    jobs = [
        Job(
            owner_id=sweep.owner_id,
            spec=old.spec,
            init_from_id=old.init_from_id,
            status=JobStatus.queued,
            sweep_id=sweep.id,
            sweep_point=old.sweep_point,
            priority=sweep.priority,
            rerun_of=old.id,
            created_at=now + timedelta(microseconds=index),
        )
        for index, old in enumerate(retried)
    ]
    session.add_all(jobs)
    # A cancelled sweep that is retried runs again: its new children are not cancelled.
    session.execute(update(Sweep).where(Sweep.id == sweep.id).values(cancel_requested=False))
    session.flush()
    record_new_jobs(
        session=session,
        job_ids=[job.id for job in jobs],
        owner_id=sweep.owner_id,
        data={"status": "queued", "attempt": 0, "worker": None, "sweep": str(sweep.id)},
    )
    session.commit()
    return [job.id for job in jobs]
