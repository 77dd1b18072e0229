"""Sweeps (issue 10): many jobs created in one transaction, read, cancelled and summarised.

Each child is an ordinary job row (its own id, events, weights) that knows its sweep and its
point in the grid. A sweep counts against its owner's queued-jobs cap as one unit (`queued_units`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.errors import JobNotFound, JobStateConflict
from core.store.events import record_new_jobs
from core.store.jobs import request_cancel
from core.store.reuse import settle_reusable
from core.store.submission_checks import admit, by_idempotency_key
from core.store.sweep_retry import current_attempts
from core.store.tables import EpochRecord, Job, JobStatus, Sweep
from core.store.types import utcnow


class SweepNotFound(JobNotFound):
    """No such sweep among the owner's."""


@dataclass(frozen=True)
class NewChild:
    point: dict[str, Any]
    spec: dict[str, Any]
    init_from_id: uuid.UUID | None = None


def create_sweep(
    *,
    session: Session,
    owner_id: uuid.UUID,
    children: list[NewChild],
    request: dict[str, Any],
    varying: list[str],
    max_queued: int,
    name: str | None = None,
    preset: str | None = None,
    priority: int = 0,
    max_parallel: int | None = None,
    max_stored_bytes: int | None = None,
    compute_budget: float = 0.0,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    reuse: bool = False,
) -> tuple[Sweep, list[uuid.UUID], bool]:
    """Insert the sweep and every child, queued, in one transaction; (sweep, the ids to send,
    created). With `reuse` (issue 20), the children that earlier runs answer are settled from
    them in the same transaction, and only the others' ids are returned.

    Nothing is sent to the broker here. A repeated idempotency key with the same request hash
    returns the earlier sweep (and no ids to send).
    """
    if idempotency_key is not None:
        earlier = by_idempotency_key(session, Sweep, owner_id, idempotency_key, request_hash)
        if earlier is not None:
            return earlier, [], False
    admit(
        session=session,
        owner_id=owner_id,
        max_queued=max_queued,
        max_stored_bytes=max_stored_bytes,
        compute_budget=compute_budget,
        adding=[child.spec for child in children],
    )
    sweep = Sweep(
        owner_id=owner_id,
        name=name,
        preset=preset,
        request=request,
        varying=varying,
        priority=priority,
        max_parallel=max_parallel,
        children=len(children),
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        cancel_requested=False,
        created_at=utcnow(),
    )
    session.add(sweep)
    try:
        session.flush()
        now = utcnow()
        jobs = [
            Job(
                owner_id=owner_id,
                spec=child.spec,
                init_from_id=child.init_from_id,
                status=JobStatus.queued,
                sweep_id=sweep.id,
                sweep_point=child.point,
                priority=priority,
                # A microsecond apart, so that creation order is the grid's order.
                created_at=now + timedelta(microseconds=index),
            )
            for index, child in enumerate(children)
        ]
        session.add_all(jobs)
        session.flush()
        record_new_jobs(
            session=session,
            job_ids=[job.id for job in jobs],
            owner_id=owner_id,
            data={"status": "queued", "attempt": 0, "worker": None, "sweep": str(sweep.id)},
        )
        reused = settle_reusable(session=session, jobs=jobs) if reuse else {}
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = by_idempotency_key(session, Sweep, owner_id, idempotency_key, request_hash)
        if earlier is None:
            raise
        return earlier, [], False
    return sweep, [job.id for job in jobs if job.id not in reused], True


def get_sweep(*, session: Session, owner_id: uuid.UUID, sweep_id: uuid.UUID) -> Sweep:
    sweep = session.get(Sweep, sweep_id)
    if sweep is None or sweep.owner_id != owner_id:
        raise SweepNotFound(f"no sweep {sweep_id}")
    return sweep


def list_sweeps(
    *,
    session: Session,
    owner_id: uuid.UUID,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[Sweep]:
    """The owner's sweeps, newest first; `before` is the (created_at, id) of the last one seen."""
    query = select(Sweep).where(Sweep.owner_id == owner_id)
    if before is not None:
        created_at, sweep_id = before
        query = query.where(
            (Sweep.created_at < created_at)
            | ((Sweep.created_at == created_at) & (Sweep.id < sweep_id))
        )
    return list(
        session.scalars(query.order_by(Sweep.created_at.desc(), Sweep.id.desc()).limit(limit))
    )


def sweep_children(*, session: Session, sweep_id: uuid.UUID) -> list[Job]:
    """The children in the order they were made (the grid's order); of a retried point, its
    latest attempt only (issue 20)."""
    query = select(Job).where(Job.sweep_id == sweep_id).order_by(Job.created_at, Job.id)
    return current_attempts(list(session.scalars(query)))


def children_histories(
    *, session: Session, job_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[EpochRecord]]:
    """Every epoch record of the given jobs, in epoch order, in one query."""
    histories: dict[uuid.UUID, list[EpochRecord]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return histories
    query = (
        select(EpochRecord)
        .where(EpochRecord.job_id.in_(job_ids))
        .order_by(EpochRecord.job_id, EpochRecord.epoch)
    )
    for record in session.scalars(query):
        histories[record.job_id].append(record)
    return histories


def cancel_sweep(*, session: Session, sweep: Sweep) -> int:
    """Cancel every child not yet finished; how many were cancelled or flagged."""
    session.execute(update(Sweep).where(Sweep.id == sweep.id).values(cancel_requested=True))
    session.commit()
    count = 0
    for job in sweep_children(session=session, sweep_id=sweep.id):
        if job.status.terminal:
            continue
        try:
            request_cancel(session=session, job=job)
            count += 1
        except JobStateConflict:
            continue  # it ended meanwhile
    session.refresh(sweep)
    return count
