"""The bytes a job stores, and their removal: the owner's DELETE, the retention period, the quota.

A deleted job keeps its row as a tombstone (spec, status, results, error, per-epoch metrics), so
its id is never reused and reads can say what happened; the bytes counted here are gone.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, delete, func, select, update
from sqlalchemy.orm import Session

from core.store.datasets import dataset_bytes
from core.store.errors import JobStateConflict, StorageQuotaExceeded
from core.store.tables import Base, Job, JobStatus
from core.store.types import utcnow


def _blob_tables() -> tuple[Any, ...]:
    # Found rather than listed, so that a new table of a job's bytes (checkpoints, weights,
    # exported files, ...) is deleted and counted without a change here. Each has the `job_id`
    # and `size` columns used below; a test checks that.
    return tuple(
        sorted(
            (
                mapper.class_
                for mapper in Base.registry.mappers
                if any(isinstance(column.type, LargeBinary) for column in mapper.local_table.c)
                # Data set files (issue 19) belong to an owner, not a job: counted apart below.
                and "job_id" in mapper.local_table.c
            ),
            key=lambda table: str(table.__tablename__),
        )
    )


# Every table that holds a job's stored bytes: what a deletion removes and the quota counts.
BLOB_TABLES = _blob_tables()


class DeletedBy(str, enum.Enum):
    owner = "owner"  # DELETE /jobs/{id}
    retention = "retention"  # failed or cancelled longer ago than the retention period

    @property
    def description(self) -> str:
        if self is DeletedBy.owner:
            return "deleted by its owner"
        return "deleted by the retention period for failed and cancelled jobs"


def stored_bytes(*, session: Session, owner_id: uuid.UUID) -> int:
    """Bytes of weights, checkpoints and other files (BLOB_TABLES) of the owner's jobs, and of
    the owner's data sets."""
    total = dataset_bytes(session=session, owner_id=owner_id)
    for table in BLOB_TABLES:
        size = session.scalar(
            select(func.sum(table.size))
            .join(Job, Job.id == table.job_id)
            .where(Job.owner_id == owner_id)
        )
        total += int(size or 0)
    return total


def check_storage_quota(*, session: Session, owner_id: uuid.UUID, limit_bytes: int) -> None:
    """Refuse new work (rolling back) once the owner's stored bytes exceed `limit_bytes`."""
    used = stored_bytes(session=session, owner_id=owner_id)
    if used > limit_bytes:
        session.rollback()
        raise StorageQuotaExceeded(
            f"your jobs store {_size(used)} of weights, checkpoints and other files, over your "
            f"quota of {_size(limit_bytes)}; free space by deleting finished jobs you no longer "
            "need (DELETE /jobs/{id}), then submit again",
            used_bytes=used,
            limit_bytes=limit_bytes,
        )


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def _drop_blobs(session: Session, job_ids: list[uuid.UUID]) -> None:
    for table in BLOB_TABLES:
        session.execute(delete(table).where(table.job_id.in_(job_ids)))


def delete_job_data(*, session: Session, job: Job) -> Job:
    """Remove a finished job's stored bytes and mark it deleted; a second call changes nothing.

    A queued or running job is refused (cancel it first), as is one whose weights a queued or
    running job is to start from (`init_from`).
    """
    # Locks the row on PostgreSQL, so that two deletions of one job do not interleave.
    current = session.execute(
        select(Job.status, Job.deleted_at).where(Job.id == job.id).with_for_update()
    ).one()
    status, deleted_at = current
    if not status.terminal:
        session.rollback()
        raise JobStateConflict(
            f"job {job.id} is {status.value}; cancel it first (POST /jobs/{job.id}/cancel), "
            "then delete it once it has ended"
        )
    if deleted_at is None:
        waiting = session.execute(
            select(Job.id, Job.status)
            .where(
                Job.init_from_id == job.id,
                Job.status.in_((JobStatus.queued, JobStatus.running)),
            )
            .limit(1)
        ).first()
        if waiting is not None:
            session.rollback()
            raise JobStateConflict(
                f"job {waiting[0]} ({waiting[1].value}) starts from the weights of job {job.id}; "
                "delete it once that job has ended"
            )
        _drop_blobs(session, [job.id])
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.deleted_at.is_(None))
            .values(deleted_at=utcnow(), deleted_reason=DeletedBy.owner.value)
        )
    session.commit()
    session.refresh(job)
    return job


def purge_expired(*, session: Session, ended_before: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Delete the stored bytes of failed and cancelled jobs that ended before `ended_before`,
    oldest first, at most `limit` a call (a short transaction); returns their ids."""
    job_ids = list(
        session.scalars(
            select(Job.id)
            .where(
                Job.status.in_((JobStatus.failed, JobStatus.cancelled)),
                Job.deleted_at.is_(None),
                Job.finished_at < ended_before,
            )
            .order_by(Job.finished_at)
            .limit(limit)
        )
    )
    if job_ids:
        _drop_blobs(session, job_ids)
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.deleted_at.is_(None))
            .values(deleted_at=utcnow(), deleted_reason=DeletedBy.retention.value)
        )
    session.commit()
    return job_ids
