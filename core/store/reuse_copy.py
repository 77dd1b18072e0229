"""Settling reused jobs (issue 20): each queued job becomes a succeeded copy of its source, with
copies of the source's epoch records, weights and exports, made by the database.

All the jobs of one submission are settled with a fixed number of statements, whatever their
count: one update, one INSERT ... SELECT per table and one insert of events, each sent once
with every job's parameters (executemany; psycopg sends them in one pipeline). The files never
travel through this process. Settled one by one, a 27-child sweep took about eight statements
per child, most of its time (bench/sweep_reuse.py, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from core.store.event_tables import Event, JobWebhook, WebhookDelivery
from core.store.events import announce, wanted
from core.store.tables import Artifact, EpochRecord, Job, JobStatus, Weights
from core.store.types import utcnow

# The job's figures that a reused job takes from its source.
FIGURES = (
    "epochs_done",
    "final_test_accuracy",
    "final_test_loss",
    "best_test_accuracy",
    "best_epoch",
    "results",
)
# The tables copied, and the columns a copy leaves to the database (EpochRecord's own id).
COPIED = ((EpochRecord, ("id",)), (Weights, ()), (Artifact, ()))


def settle_all(*, session: Session, pairs: list[tuple[Job, Job]]) -> None:
    """Make each queued job of (job, source) a succeeded copy of its source, in the session's
    transaction (the caller commits)."""
    if not pairs:
        return
    now = utcnow()
    jobs = cast(Table, Job.__table__)
    figures = {name: bindparam(f"s_{name}", type_=jobs.c[name].type) for name in FIGURES}
    settle = (
        update(jobs)
        .where(jobs.c.id == bindparam("s_job"), jobs.c.status == JobStatus.queued)
        .values(
            status=JobStatus.succeeded,
            reused_from=bindparam("s_source"),
            finished_at=now,
            enqueued_at=now,  # nothing is owed to the broker
            **figures,
        )
    )
    session.execute(
        settle,
        [
            {
                "s_job": job.id,
                "s_source": source.id,
                **{f"s_{name}": getattr(source, name) for name in FIGURES},
            }
            for job, source in pairs
        ],
    )
    mapping = [{"s_job": job.id, "s_source": source.id} for job, source in pairs]
    for mapped, left in COPIED:
        table = cast(Table, mapped.__table__)  # Core, not the ORM's bulk insert of objects
        columns = table.c
        names = [c.name for c in columns if c.name not in left]
        target = bindparam("s_job", type_=columns.job_id.type)
        chosen = [target if name == "job_id" else columns[name] for name in names]
        rows = select(*chosen).where(
            columns.job_id == bindparam("s_source", type_=columns.job_id.type)
        )
        session.execute(insert(table).from_select(names, rows), mapping)
    _record_succeeded(session, pairs)


def _record_succeeded(session: Session, pairs: list[tuple[Job, Job]]) -> None:
    """Each job's `succeeded` status event, as events.record_status writes it, all in one insert
    (after the update that locked the jobs' rows), with their webhook deliveries."""
    ids = [job.id for job, _ in pairs]
    last: dict[uuid.UUID, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Event.job_id, func.max(Event.id))
            .where(Event.job_id.in_(ids))
            .group_by(Event.job_id)
        ).all()
    )
    now = utcnow()
    rows = []
    for job, source in pairs:
        data: dict[str, Any] = {
            "status": JobStatus.succeeded.value,
            "attempt": job.attempts,
            "worker": job.worker,
            "final_test_accuracy": source.final_test_accuracy,
            "reused_from": str(source.id),
        }
        rows.append(
            Event(
                job_id=job.id,
                owner_id=job.owner_id,
                type="status",
                data=data,
                prev_id=last.get(job.id),
                created_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    committed = announce(session, rows)
    hooks = {
        hook.job_id: hook
        for hook in session.scalars(select(JobWebhook).where(JobWebhook.job_id.in_(ids)))
    }
    deliveries = [
        WebhookDelivery(
            job_id=row.job_id,
            event_id=row.id,
            url=hooks[row.job_id].url,
            created_at=now,
            next_try_at=now,
        )
        for row in rows
        if row.job_id in hooks and wanted(hooks[row.job_id].events, row.type, row.data)
    ]
    if deliveries:
        session.add_all(deliveries)
        session.flush()
        committed.deliveries.extend(delivery.id for delivery in deliveries)
