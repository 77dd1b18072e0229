"""Which queued job a free worker takes: fair share across owners, decided by the database
(issue 10).

The broker still wakes a worker with a job id, but that id is a hint, not an order: the worker
claims the queued job that comes first by
  1. the owner's running jobs, fewest first (one owner's sweep of hundreds cannot starve others);
  2. the owner's training time in the last day, least first;
  3. the job's priority, highest first;
  4. age, oldest first;
skipping owners at their running cap and sweeps at their `max_parallel`. Every message still
leads to one claim attempt, so each queued job's message is spent on some queued job; a job
passed over keeps waiting and is re-sent by an idle worker's reaper (docs/RELIABILITY.md).

On PostgreSQL the candidate rows are locked with SKIP LOCKED, so workers claiming at once pick
different jobs instead of queueing behind one row; the claim itself is `claim_job`'s atomic
update under the lease rules, unchanged.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.store.lifecycle import Claim, ClaimRefused, claim_job
from core.store.tables import Job, JobStatus, Sweep
from core.store.types import utcnow

RECENT = timedelta(hours=24)  # the window of "compute used recently"
TRIES = 8  # candidates tried when claims on other workers win races for the first ones


def next_jobs_query(*, max_running_per_owner: int, exclude: list[uuid.UUID]) -> Select[Any]:
    """Queued, claimable jobs in fair-share order (see the module's docstring)."""
    running = (
        select(Job.owner_id, func.count().label("n"))
        .where(Job.status == JobStatus.running)
        .group_by(Job.owner_id)
        .subquery()
    )
    recent = (
        select(Job.owner_id, func.sum(Job.run_seconds).label("seconds"))
        .where(Job.started_at >= utcnow() - RECENT)
        .group_by(Job.owner_id)
        .subquery()
    )
    sweep_running = (
        select(Job.sweep_id, func.count().label("n"))
        .where(Job.status == JobStatus.running, Job.sweep_id.is_not(None))
        .group_by(Job.sweep_id)
        .subquery()
    )
    owner_running = func.coalesce(running.c.n, 0)
    query = (
        select(Job.id)
        .outerjoin(running, running.c.owner_id == Job.owner_id)
        .outerjoin(recent, recent.c.owner_id == Job.owner_id)
        .outerjoin(Sweep, Sweep.id == Job.sweep_id)
        .outerjoin(sweep_running, sweep_running.c.sweep_id == Job.sweep_id)
        .where(
            Job.status == JobStatus.queued,
            Job.cancel_requested.is_(False),
            owner_running < max_running_per_owner,
            or_(
                Sweep.max_parallel.is_(None),
                func.coalesce(sweep_running.c.n, 0) < Sweep.max_parallel,
            ),
        )
        .order_by(
            owner_running,
            func.coalesce(recent.c.seconds, 0.0),
            Job.priority.desc(),
            Job.created_at,
            Job.id,
        )
    )
    if exclude:
        query = query.where(Job.id.not_in(exclude))
    return query


def claim_next(
    *, session: Session, worker: str, max_running_per_owner: int, hint: uuid.UUID | None = None
) -> Claim | ClaimRefused:
    """Claim the queued job that fair share puts first; not_queued when none can be claimed.

    `hint` (the message's job id) is only used when nothing else is claimable and it is, which
    keeps a job whose message arrives reachable even if the order query missed it.
    """
    tried: list[uuid.UUID] = []
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(TRIES):
        query = next_jobs_query(max_running_per_owner=max_running_per_owner, exclude=tried)
        if postgres:
            query = query.with_for_update(of=Job, skip_locked=True)
        job_id = session.scalar(query.limit(1))
        if job_id is None:
            session.rollback()
            break
        claim = claim_job(
            session=session,
            job_id=job_id,
            worker=worker,
            max_running_per_owner=max_running_per_owner,
        )
        if isinstance(claim, Claim):
            return claim
        tried.append(job_id)
    if hint is not None and hint not in tried:
        return claim_job(
            session=session, job_id=hint, worker=worker, max_running_per_owner=max_running_per_owner
        )
    return ClaimRefused.not_queued
