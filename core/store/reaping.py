"""Jobs whose holder died, as the reaper (a stale heartbeat), a restarted worker (its dead
self's lease) or the supervisor (a training process that exited without ending its job) find
them: the queries that find them, and the one transition that takes them back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.store.events import record_status, record_warning
from core.store.tables import Checkpoint, Job, JobStatus
from core.store.types import utcnow


def abandon_job(
    *,
    session: Session,
    job_id: uuid.UUID,
    lease_id: uuid.UUID | None,
    max_attempts: int,
    reason: str,
    stale_before: datetime | None = None,
) -> JobStatus | None:
    """A job whose worker died: back to the queue, or failed once it has used its attempts.

    The caller names the lease it saw die, or (the reaper) a heartbeat time that counts as dead.
    Returns the new status, or None when the job was not running under that lease.
    """
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.running:
        session.rollback()
        return None
    if lease_id is not None:
        held = Job.lease_id == lease_id
    elif stale_before is not None:
        held = Job.heartbeat_at < stale_before
    else:
        raise ValueError("abandon_job needs lease_id or stale_before")
    if job.cancel_requested:
        status = JobStatus.cancelled
        values: dict[str, Any] = {"finished_at": utcnow()}
    elif job.attempts >= max_attempts:
        status = JobStatus.failed
        values = {
            "finished_at": utcnow(),
            "error_code": "worker_lost",
            "error_message": (
                f"the job stopped its worker {job.attempts} times ({reason}); "
                "it may need more memory than a worker has, or a smaller batch size"
            ),
        }
    else:
        status, values = JobStatus.queued, {"enqueued_at": None}
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.running, held)
        .values(status=status, lease_id=None, worker=None, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    record_warning(
        session=session,
        job_id=job_id,
        code="lease_lost",
        message=f"the job lost its worker ({reason}) in attempt {job.attempts}",
        attempt=job.attempts,
    )
    record_status(session=session, job_id=job_id, status=status)
    if status.terminal:
        # Ended: nothing resumes it. A re-queued job keeps its checkpoint to resume from.
        session.execute(delete(Checkpoint).where(Checkpoint.job_id == job_id))
    session.commit()
    return status


def stale_jobs(*, session: Session, stale_before: datetime) -> list[uuid.UUID]:
    """Running jobs whose last heartbeat is older than `stale_before`."""
    return list(
        session.scalars(
            select(Job.id).where(Job.status == JobStatus.running, Job.heartbeat_at < stale_before)
        )
    )


def undispatched_jobs(*, session: Session, older_than_s: float) -> list[uuid.UUID]:
    """Queued jobs that no message is known to carry (the outbox), oldest first."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    return list(
        session.scalars(
            select(Job.id)
            .where(
                Job.status == JobStatus.queued,
                Job.enqueued_at.is_(None),
                Job.created_at < cutoff,
            )
            .order_by(Job.created_at)
        )
    )


def unclaimed_jobs(*, session: Session, sent_before: datetime) -> list[uuid.UUID]:
    """Queued jobs whose last message went out before `sent_before`, oldest sent first.

    A worker idle since then would have claimed them had their message reached it: the message
    is lost (a broker that came back empty) or was refused (the owner's running cap).
    """
    return list(
        session.scalars(
            select(Job.id)
            .where(Job.status == JobStatus.queued, Job.enqueued_at < sent_before)
            .order_by(Job.enqueued_at)
        )
    )
