"""What a new job or sweep must pass before it is stored: the owner's caps (queued jobs, storage,
compute budget), checked under the owner's row lock, and the lookup of an Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from core.store.budget import check_compute_budget
from core.store.errors import IdempotencyConflict, QuotaExceeded
from core.store.storage import check_storage_quota
from core.store.tables import Job, JobStatus, Owner, Sweep

Keyed = TypeVar("Keyed", Job, Sweep)  # what an Idempotency-Key can name


def admit(
    *,
    session: Session,
    owner_id: uuid.UUID,
    max_queued: int,
    max_stored_bytes: int | None,
    compute_budget: float = 0.0,
    adding: list[dict[str, Any]] | None = None,
) -> None:
    """Lock the owner's row until the caller's commit (so that the caps hold under concurrent
    submissions on PostgreSQL), then refuse a submission over the queued or storage cap, or
    one whose jobs (`adding`, their specs) would take the owner past the compute budget."""
    session.execute(select(Owner.id).where(Owner.id == owner_id).with_for_update())
    if queued_units(session=session, owner_id=owner_id) >= max_queued:
        session.rollback()
        raise QuotaExceeded(
            f"owner has {max_queued} queued jobs or sweeps, the most allowed; wait for some "
            "to start",
            retry_after_s=60,
        )
    if max_stored_bytes is not None:
        check_storage_quota(session=session, owner_id=owner_id, limit_bytes=max_stored_bytes)
    check_compute_budget(
        session=session, owner_id=owner_id, adding=adding or [], budget=compute_budget
    )


def queued_units(*, session: Session, owner_id: uuid.UUID) -> int:
    """What counts against the queued-jobs cap: the owner's queued jobs outside sweeps, plus one
    for each sweep with queued children (a sweep counts as a whole, issue 10)."""
    queued = (Job.owner_id == owner_id) & (Job.status == JobStatus.queued)
    single = session.scalar(select(func.count()).where(queued, Job.sweep_id.is_(None))) or 0
    sweeps = session.scalar(select(func.count(distinct(Job.sweep_id))).where(queued)) or 0
    return single + sweeps


def by_idempotency_key(
    session: Session, model: type[Keyed], owner_id: uuid.UUID, key: str, request_hash: str | None
) -> Keyed | None:
    """The owner's earlier job or sweep made with this Idempotency-Key; a conflict if it was
    made from another request."""
    earlier = session.scalar(
        select(model).where(model.owner_id == owner_id, model.idempotency_key == key)
    )
    if earlier is not None and earlier.request_hash != request_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different request body; use a new key"
        )
    return earlier
