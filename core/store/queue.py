"""Where a queued job stands: the jobs queued before it and the jobs running now (issue 11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.store.tables import EpochRecord, Job, JobStatus


@dataclass(frozen=True)
class RunningJob:
    spec: dict[str, Any]
    epochs_done: int
    last_epoch_seconds: float | None  # the latest epoch's wall time, when one has ended
    worker: str | None


@dataclass(frozen=True)
class QueueSnapshot:
    ahead: list[dict[str, Any]]  # specs of the queued jobs created before this one, oldest first
    running: list[RunningJob]


def queue_snapshot(*, session: Session, job: Job, limit: int = 1000) -> QueueSnapshot:
    """Every owner's queued jobs ahead of `job` (at most `limit`) and the running jobs.

    The broker hands jobs out in about the order they were queued, so creation order stands
    for queue order; jobs requeued after a hand-back may in fact run sooner.
    """
    earlier = or_(
        Job.created_at < job.created_at, and_(Job.created_at == job.created_at, Job.id < job.id)
    )
    ahead = list(
        session.scalars(
            select(Job.spec)
            .where(Job.status == JobStatus.queued, Job.cancel_requested.is_(False), earlier)
            .order_by(Job.created_at, Job.id)
            .limit(limit)
        )
    )
    latest = (
        select(EpochRecord.job_id, func.max(EpochRecord.epoch).label("epoch"))
        .group_by(EpochRecord.job_id)
        .subquery()
    )
    rows = session.execute(
        select(Job.spec, Job.epochs_done, Job.worker, EpochRecord.seconds)
        .outerjoin(latest, latest.c.job_id == Job.id)
        .outerjoin(
            EpochRecord,
            and_(EpochRecord.job_id == Job.id, EpochRecord.epoch == latest.c.epoch),
        )
        .where(Job.status == JobStatus.running)
    )
    running = [
        RunningJob(spec=spec, epochs_done=done, last_epoch_seconds=seconds, worker=worker)
        for spec, done, worker, seconds in rows
    ]
    return QueueSnapshot(ahead=ahead, running=running)
