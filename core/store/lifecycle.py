"""What the holder of a job does to it: claim under a lease, heartbeat, save progress, finish,
end, hand back. What others do to a job whose holder died is `core.store.reaping`.

Every write after the claim names the lease and changes nothing when the lease is no longer
held, so a stale copy of a job (a second delivery, a worker thought dead) cannot write.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.metrics import metric_names
from core.store.events import record_attempt, record_event, record_status, record_warning
from core.store.tables import Checkpoint, EpochRecord, Job, JobStatus, Owner, Sweep, Weights
from core.store.types import utcnow


class LeaseLost(Exception):
    """The job was taken from this worker (cancelled, reaped or finished elsewhere)."""


class ClaimRefused(enum.Enum):
    not_queued = "not_queued"  # already claimed, finished or cancelled: drop the message
    owner_busy = "owner_busy"  # the owner's running cap is reached: try again later


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    lease_id: uuid.UUID
    attempt: int  # 1 for the first delivery that ran
    spec: dict[str, Any]
    init_from_id: uuid.UUID | None
    run_seconds: float  # training time spent by earlier attempts


def claim_job(
    *, session: Session, job_id: uuid.UUID, worker: str, max_running_per_owner: int
) -> Claim | ClaimRefused:
    """Move a queued job to running in one atomic update, with a fresh lease."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.queued or job.cancel_requested:
        session.rollback()
        return ClaimRefused.not_queued
    # Serialises one owner's claims on PostgreSQL, so the running cap holds across workers.
    session.execute(select(Owner.id).where(Owner.id == job.owner_id).with_for_update())
    running = session.scalar(
        select(func.count()).where(Job.owner_id == job.owner_id, Job.status == JobStatus.running)
    )
    if (running or 0) >= max_running_per_owner:
        session.rollback()
        return ClaimRefused.owner_busy
    if job.sweep_id is not None and not sweep_has_room(session=session, sweep_id=job.sweep_id):
        session.rollback()
        return ClaimRefused.owner_busy
    lease_id = uuid.uuid4()
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.queued, Job.cancel_requested.is_(False))
        .values(
            status=JobStatus.running,
            attempts=Job.attempts + 1,
            lease_id=lease_id,
            worker=worker,
            heartbeat_at=now,
            started_at=func.coalesce(Job.started_at, now),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return ClaimRefused.not_queued
    record_status(session=session, job_id=job_id, status=JobStatus.running)
    record_attempt(session=session, job_id=job_id)
    session.commit()
    session.refresh(job)
    return Claim(
        job_id=job.id,
        lease_id=lease_id,
        attempt=job.attempts,
        spec=dict(job.spec),
        init_from_id=job.init_from_id,
        run_seconds=job.run_seconds,
    )


def sweep_has_room(*, session: Session, sweep_id: uuid.UUID) -> bool:
    """Whether the sweep runs fewer children than its max_parallel (issue 10). Locks the sweep's
    row until the caller's commit, so that claims on several workers cannot overshoot it."""
    limit = session.scalar(select(Sweep.max_parallel).where(Sweep.id == sweep_id).with_for_update())
    if limit is None:
        return True
    running = session.scalar(
        select(func.count()).where(Job.sweep_id == sweep_id, Job.status == JobStatus.running)
    )
    return (running or 0) < limit


def _hold(
    session: Session, job_id: uuid.UUID, lease_id: uuid.UUID, values: dict[str, Any] | None = None
) -> None:
    """Update the job under its lease (locking the row until commit) or raise LeaseLost."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_id == lease_id, Job.status == JobStatus.running)
        .values(heartbeat_at=utcnow(), **(values or {}))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise LeaseLost(f"job {job_id} is no longer held by lease {lease_id}")


def heartbeat(*, session: Session, job_id: uuid.UUID, lease_id: uuid.UUID) -> bool:
    """Renew the lease; returns whether a cancel was requested."""
    _hold(session, job_id, lease_id)
    session.commit()
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def save_progress(
    *,
    session: Session,
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    checkpoint: bytes,
    epoch: int,
    batch: int,
    run_seconds: float,
    metrics: dict[str, float] | None = None,
    warnings: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Store a checkpoint, and at an epoch's end its metrics, in one transaction, with the
    `warning` events ({code, message, ...}) the run raised since the last checkpoint.

    A resumed run that repeats an epoch replaces that epoch's record, so there is one per epoch.
    """
    values: dict[str, Any] = {"run_seconds": run_seconds}
    if metrics is not None:
        values["epochs_done"] = epoch
    _hold(session, job_id, lease_id, values)
    if metrics is not None:
        session.execute(
            delete(EpochRecord).where(EpochRecord.job_id == job_id, EpochRecord.epoch >= epoch)
        )
        # Fields a record may lack (validation, issue 20) stored as null, the event alike.
        record = {**dict.fromkeys(metric_names()), **metrics}
        session.add(EpochRecord(job_id=job_id, **record))
        record_event(session=session, job_id=job_id, type="epoch", data=record)
    for warning in warnings:  # after the epoch that showed it
        record_warning(session=session, job_id=job_id, **warning)
    _upsert_checkpoint(
        session,
        {
            "job_id": job_id,
            "epoch": epoch,
            "batch": batch,
            "data": checkpoint,
            "size": len(checkpoint),
            "saved_at": utcnow(),
        },
    )
    session.commit()


def _upsert_checkpoint(session: Session, values: dict[str, Any]) -> None:
    """Insert or overwrite the job's checkpoint row in one statement that reads nothing (an ORM
    merge would load the old blob, megabytes, only to replace it)."""
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Checkpoint).values(**values)
    changed = {name: statement.excluded[name] for name in values if name != "job_id"}
    session.execute(statement.on_conflict_do_update(index_elements=["job_id"], set_=changed))


def load_checkpoint(*, session: Session, job_id: uuid.UUID) -> bytes | None:
    return session.scalar(select(Checkpoint.data).where(Checkpoint.job_id == job_id))


def finish_job(
    *,
    session: Session,
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    weights: bytes,
    sha256: str,
    run_seconds: float,
    final_test_accuracy: float | None,
    final_test_loss: float | None,
    best_test_accuracy: float | None,
    best_epoch: int | None,
    results: dict[str, Any],
    status: JobStatus = JobStatus.succeeded,
) -> None:
    """Store the weights and results and mark the job succeeded (or, stopped early by its
    sweep's rule, `stopped`), atomically."""
    _hold(
        session,
        job_id,
        lease_id,
        {
            "status": status,
            "finished_at": utcnow(),
            "lease_id": None,
            "run_seconds": run_seconds,
            "final_test_accuracy": final_test_accuracy,
            "final_test_loss": final_test_loss,
            "best_test_accuracy": best_test_accuracy,
            "best_epoch": best_epoch,
            "results": results,
        },
    )
    record_status(
        session=session, job_id=job_id, status=status, final_test_accuracy=final_test_accuracy
    )
    session.merge(Weights(job_id=job_id, data=weights, size=len(weights), sha256=sha256))
    # The checkpoint has served its purpose; the weights are the result.
    session.execute(delete(Checkpoint).where(Checkpoint.job_id == job_id))
    session.commit()


def end_job(
    *,
    session: Session,
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    status: JobStatus,
    error_code: str | None = None,
    error_message: str | None = None,
    run_seconds: float | None = None,
) -> None:
    """End a held job as failed or cancelled; its checkpoint goes, as nothing resumes it."""
    values: dict[str, Any] = {
        "status": status,
        "finished_at": utcnow(),
        "lease_id": None,
        "error_code": error_code,
        "error_message": error_message,
    }
    if run_seconds is not None:
        values["run_seconds"] = run_seconds
    _hold(session, job_id, lease_id, values)
    record_status(session=session, job_id=job_id, status=status)
    session.execute(delete(Checkpoint).where(Checkpoint.job_id == job_id))
    session.commit()


def release_job(
    *, session: Session, job_id: uuid.UUID, lease_id: uuid.UUID, run_seconds: float
) -> None:
    """Hand a job back to the queue after a graceful stop; the stop does not count as an attempt."""
    _hold(
        session,
        job_id,
        lease_id,
        {
            "status": JobStatus.queued,
            "lease_id": None,
            "worker": None,
            "enqueued_at": None,
            "attempts": Job.attempts - 1,
            "run_seconds": run_seconds,
        },
    )
    record_warning(
        session=session,
        job_id=job_id,
        code="handed_back",
        message="the worker is shutting down; the job goes back to the queue and resumes "
        "from its last checkpoint (this does not count as an attempt)",
    )
    record_status(session=session, job_id=job_id, status=JobStatus.queued)
    session.commit()
