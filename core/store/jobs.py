"""What the API does to jobs: create, read, list, cancel. The worker's side is in lifecycle.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.errors import JobNotFound, JobStateConflict
from core.store.event_tables import JobWebhook
from core.store.events import record_status, record_warning
from core.store.reuse import settle_reusable
from core.store.submission_checks import admit, by_idempotency_key
from core.store.tables import Checkpoint, EpochRecord, Job, JobStatus, Weights
from core.store.types import utcnow


def create_job(
    *,
    session: Session,
    owner_id: uuid.UUID,
    spec: dict[str, Any],
    max_queued: int,
    max_stored_bytes: int | None = None,
    compute_budget: float = 0.0,
    init_from_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    webhook_url: str | None = None,
    webhook_events: list[str] | None = None,
    rerun_of: uuid.UUID | None = None,
    reuse: bool = False,
) -> tuple[Job, bool]:
    """Insert and commit a queued job; returns (job, created). Nothing is sent to the broker here.

    A repeated idempotency key with the same request hash returns the earlier job. An owner
    storing more than `max_stored_bytes` (weights, checkpoints, other files) is refused. With
    `reuse` (issue 20), a job an earlier run answers is settled in the same transaction: it is
    never seen queued, by a reader or by a worker's claim, and comes back succeeded.
    """
    if idempotency_key is not None:
        earlier = by_idempotency_key(session, Job, owner_id, idempotency_key, request_hash)
        if earlier is not None:
            return earlier, False
    admit(
        session=session,
        owner_id=owner_id,
        max_queued=max_queued,
        max_stored_bytes=max_stored_bytes,
        compute_budget=compute_budget,
        adding=[spec],
    )
    job = Job(
        owner_id=owner_id,
        spec=spec,
        init_from_id=init_from_id,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        rerun_of=rerun_of,
        status=JobStatus.queued,
    )
    session.add(job)
    try:
        session.flush()
        if webhook_url is not None:
            session.add(JobWebhook(job_id=job.id, url=webhook_url, events=webhook_events))
        record_status(session=session, job_id=job.id, status=JobStatus.queued)
        reused = settle_reusable(session=session, jobs=[job]) if reuse else {}
        session.commit()
    except IntegrityError:
        # Two requests with one idempotency key raced; the other one's insert won.
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = by_idempotency_key(session, Job, owner_id, idempotency_key, request_hash)
        if earlier is None:
            raise
        return earlier, False
    if reused:
        session.refresh(job)  # settled by bulk statements: read its status and files' row back
    return job, True


def get_job(*, session: Session, owner_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """The owner's job; another owner's job is reported as missing."""
    job = session.get(Job, job_id)
    if job is None or job.owner_id != owner_id:
        raise JobNotFound(f"no job {job_id}")
    return job


# Built once: composing the statement cost more CPU than running it. The latest record is the
# one of epoch `epochs_done`: save_progress writes both in one transaction, dropping any later
# records of an earlier attempt; the join then uses the (job_id, epoch) unique index.
_JOB_AND_LATEST_METRICS = (
    select(Job, EpochRecord)
    .outerjoin(EpochRecord, (EpochRecord.job_id == Job.id) & (EpochRecord.epoch == Job.epochs_done))
    .where(Job.id == bindparam("job_id"))
)


def get_job_and_latest_metrics(
    *, session: Session, owner_id: uuid.UUID, job_id: uuid.UUID
) -> tuple[Job, EpochRecord | None]:
    """The owner's job and its latest epoch record in one query (GET /jobs/<id>, the API's
    most frequent request)."""
    row = session.execute(_JOB_AND_LATEST_METRICS, {"job_id": job_id}).first()
    if row is None or row[0].owner_id != owner_id:
        raise JobNotFound(f"no job {job_id}")
    job, latest = row
    return job, latest


def list_jobs(
    *,
    session: Session,
    owner_id: uuid.UUID,
    limit: int,
    status: JobStatus | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[Job]:
    """The owner's jobs, newest first; `before` is the (created_at, id) of the last one seen."""
    query = select(Job).where(Job.owner_id == owner_id)
    if status is not None:
        query = query.where(Job.status == status)
    if before is not None:
        created_at, job_id = before
        query = query.where(
            (Job.created_at < created_at) | ((Job.created_at == created_at) & (Job.id < job_id))
        )
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return list(session.scalars(query))


def delete_unsent_job(*, session: Session, job_id: uuid.UUID) -> None:
    """Undo a submission whose message could not reach the broker, so no job is half-made."""
    session.execute(
        delete(Job).where(
            Job.id == job_id, Job.status == JobStatus.queued, Job.enqueued_at.is_(None)
        )
    )
    session.commit()


def mark_all_enqueued(*, session: Session, job_ids: list[uuid.UUID]) -> None:
    """mark_enqueued for many jobs in one statement (a sweep's children, sent in bulk)."""
    session.execute(update(Job).where(Job.id.in_(job_ids)).values(enqueued_at=utcnow()))
    session.commit()


def mark_enqueued(*, session: Session, job_id: uuid.UUID) -> None:
    """Record that a message carries the job (core.messaging.producer.send_job, after the send)."""
    if session.get_bind().dialect.name == "postgresql":
        # The mark only spares the outbox a re-send: losing it in a crash costs a second
        # message, which the worker's claim drops. So it need not wait for the WAL flush.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    session.execute(update(Job).where(Job.id == job_id).values(enqueued_at=utcnow()))
    session.commit()


def request_cancel(*, session: Session, job: Job) -> Job:
    """Queued: cancelled at once. Running: flagged; the worker stops between two batches."""
    now = utcnow()
    flagged_before = job.cancel_requested
    done = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.queued)
        .values(status=JobStatus.cancelled, cancel_requested=True, finished_at=now)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        flagged = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.running)
            .values(cancel_requested=True)
        )
        if flagged.rowcount == 0:  # type: ignore[attr-defined]
            session.rollback()
            session.refresh(job)
            raise JobStateConflict(f"job {job.id} is already {job.status.value}; nothing to cancel")
        if not flagged_before:
            record_warning(
                session=session,
                job_id=job.id,
                code="cancel_requested",
                message="cancel requested; the job stops before its next batch",
            )
    else:
        record_status(session=session, job_id=job.id, status=JobStatus.cancelled)
        # A job handed back to the queue has a checkpoint; cancelled, nothing resumes it.
        session.execute(delete(Checkpoint).where(Checkpoint.job_id == job.id))
    session.commit()
    session.refresh(job)
    return job


def latest_metrics(*, session: Session, job_id: uuid.UUID) -> EpochRecord | None:
    return session.scalar(
        select(EpochRecord)
        .where(EpochRecord.job_id == job_id)
        .order_by(EpochRecord.epoch.desc())
        .limit(1)
    )


def latest_metrics_of(
    *, session: Session, job_ids: list[uuid.UUID]
) -> dict[uuid.UUID, EpochRecord]:
    """The latest epoch record of each of several jobs, in one query (for a page of jobs)."""
    if not job_ids:
        return {}
    last = (
        select(EpochRecord.job_id, func.max(EpochRecord.epoch).label("epoch"))
        .where(EpochRecord.job_id.in_(job_ids))
        .group_by(EpochRecord.job_id)
        .subquery()
    )
    records = session.scalars(
        select(EpochRecord).join(
            last, (EpochRecord.job_id == last.c.job_id) & (EpochRecord.epoch == last.c.epoch)
        )
    )
    return {record.job_id: record for record in records}


def epoch_metrics(*, session: Session, job_id: uuid.UUID) -> list[EpochRecord]:
    return list(
        session.scalars(
            select(EpochRecord).where(EpochRecord.job_id == job_id).order_by(EpochRecord.epoch)
        )
    )


def weights_info(*, session: Session, job_id: uuid.UUID) -> tuple[int, str] | None:
    """(size, sha256) of the job's weights, without loading them."""
    row = session.execute(
        select(Weights.size, Weights.sha256).where(Weights.job_id == job_id)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def iter_weights(
    *, session: Session, job_id: uuid.UUID, size: int, chunk: int = 1 << 20
) -> Iterator[bytes]:
    """The weights in chunks, read with substr so a large file never sits whole in memory."""
    for start in range(0, size, chunk):
        # SQL substr is 1-based on both PostgreSQL and SQLite.
        part = session.scalar(
            select(func.substr(Weights.data, start + 1, chunk)).where(Weights.job_id == job_id)
        )
        if part is None:
            return
        yield bytes(part)


def load_weights(*, session: Session, job_id: uuid.UUID) -> bytes | None:
    return session.scalar(select(Weights.data).where(Weights.job_id == job_id))
