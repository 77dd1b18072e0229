"""The event log (issue 8): what happened to a job, one row per thing, written in the same
transaction as the change it reports. An uploaded data set's events (issue 19) share the log and
its ids: `core.store.dataset_events` writes them.

`record_event` is called by the store's transitions after their update of the job row: that
update locks the row, so one job's events get their ids in commit order (a reader that has seen
event n of a job has seen every earlier one). After the commit, the process's commit listeners
(`add_commit_listener`: a Redis publisher, the webhook task sender) learn of the new events.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store.event_tables import Event, JobWebhook, WebhookDelivery
from core.store.tables import Checkpoint, Job, JobStatus
from core.store.types import utcnow
from core.vocabulary import OWNER_STREAM_TYPES, EventType

log = logging.getLogger(__name__)

EVENT_TYPES = tuple(t.value for t in EventType)
FINAL_STATUSES = tuple(s.value for s in JobStatus if s.terminal)
_PENDING = "crs_committed_events"


@dataclass
class Committed:
    """What one commit added: event messages (as `event_message` makes them) and the ids of
    the webhook deliveries to send."""

    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)


CommitListener = Callable[[Committed], None]
_listeners: list[CommitListener] = []


def add_commit_listener(listener: CommitListener) -> None:
    """Called after every commit that recorded events, in the committing thread (once per
    process and listener; a second registration of the same function is ignored)."""
    if listener not in _listeners:
        _listeners.append(listener)


def listeners() -> list[CommitListener]:
    return list(_listeners)


def remove_commit_listener(listener: CommitListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def is_final(message: dict[str, Any]) -> bool:
    return message["type"] == "status" and message["data"].get("status") in FINAL_STATUSES


def event_message(row: Event) -> dict[str, Any]:
    """The event as the API, SSE streams and webhooks show it. A data set's event (issue 19)
    has a `dataset_id` and a null `job_id`."""
    message = {
        "id": row.id,
        "job_id": None if row.job_id is None else str(row.job_id),
        "type": row.type,
        "created_at": row.created_at.isoformat(),
        "data": row.data,
        # Not shown to clients; lets a live reader notice an event it has not seen.
        "prev_id": row.prev_id,
        "owner_id": str(row.owner_id),
    }
    if row.dataset_id is not None:
        message["dataset_id"] = str(row.dataset_id)
    return message


def public(message: dict[str, Any]) -> dict[str, Any]:
    shown = {k: message[k] for k in ("id", "job_id", "type", "created_at", "data")}
    if message.get("dataset_id") is not None:
        shown["dataset_id"] = message["dataset_id"]
    return shown


def announce(session: Session, rows: list[Event]) -> Committed:
    """Tell the process's commit listeners of these new rows once the transaction commits."""
    committed: Committed = session.info.setdefault(_PENDING, Committed())
    committed.events.extend(event_message(row) for row in rows)
    return committed


def record_event(
    *,
    session: Session,
    job_id: uuid.UUID,
    type: str,
    data: dict[str, Any],
    owner_id: uuid.UUID | None = None,
) -> Event:
    """Add an event to the session's transaction (the caller commits). Call it after the
    update that locks the job's row, so the job's events are numbered in commit order."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if owner_id is None:
        owner_id = session.scalar(select(Job.owner_id).where(Job.id == job_id))
        assert owner_id is not None, f"no job {job_id}"
    prev_id = session.scalar(select(func.max(Event.id)).where(Event.job_id == job_id))
    row = Event(
        job_id=job_id, owner_id=owner_id, type=type, data=data, prev_id=prev_id, created_at=utcnow()
    )
    session.add(row)
    session.flush()
    committed = announce(session, [row])
    hook = session.get(JobWebhook, job_id)
    if hook is not None and wanted(hook.events, type, data):
        delivery = WebhookDelivery(
            job_id=job_id, event_id=row.id, url=hook.url, created_at=utcnow(), next_try_at=utcnow()
        )
        session.add(delivery)
        session.flush()
        committed.deliveries.append(delivery.id)
    return row


def record_new_jobs(
    *, session: Session, job_ids: list[uuid.UUID], owner_id: uuid.UUID, data: dict[str, Any]
) -> None:
    """The first `status` event of many jobs just inserted in this transaction (a sweep's
    children, issue 10): none has an earlier event or a webhook, so all go in one insert."""
    now = utcnow()
    rows = [
        Event(
            job_id=job_id, owner_id=owner_id, type="status", data=data, prev_id=None, created_at=now
        )
        for job_id in job_ids
    ]
    session.add_all(rows)
    session.flush()
    announce(session, rows)


def wanted(types: list[str] | None, type: str, data: dict[str, Any]) -> bool:
    """Whether a webhook asking for `types` (None: the final status only) gets this event."""
    if types is None:
        return type == "status" and data.get("status") in FINAL_STATUSES
    return type in types


def record_status(*, session: Session, job_id: uuid.UUID, status: JobStatus, **extra: Any) -> Event:
    """A `status` event for the job's new state, with its attempt and worker (read after the
    caller's update, in its transaction)."""
    row = session.execute(
        select(Job.owner_id, Job.attempts, Job.worker, Job.error_code, Job.error_message).where(
            Job.id == job_id
        )
    ).one()
    data: dict[str, Any] = {"status": status.value, "attempt": row.attempts, "worker": row.worker}
    if status == JobStatus.failed:
        data["error"] = {"code": row.error_code, "message": row.error_message}
    data.update(extra)
    return record_event(
        session=session, job_id=job_id, owner_id=row.owner_id, type="status", data=data
    )


def record_attempt(*, session: Session, job_id: uuid.UUID) -> Event:
    """An `attempt` event for a claim: which attempt, on which worker, and where it starts (the
    checkpoint the training process will load: the lease keeps it from changing meanwhile)."""
    row = session.execute(
        select(Job.owner_id, Job.attempts, Job.worker).where(Job.id == job_id)
    ).one()
    where = session.execute(
        select(Checkpoint.epoch, Checkpoint.batch).where(Checkpoint.job_id == job_id)
    ).first()
    data: dict[str, Any] = {"attempt": row.attempts, "worker": row.worker}
    if where is None:
        data.update(start="fresh", epoch=0, batch=0)
    else:
        data.update(start="resumed", epoch=int(where.epoch), batch=int(where.batch))
    return record_event(
        session=session, job_id=job_id, owner_id=row.owner_id, type="attempt", data=data
    )


def record_warning(
    *, session: Session, job_id: uuid.UUID, code: str, message: str, **extra: Any
) -> Event:
    return record_event(
        session=session,
        job_id=job_id,
        type="warning",
        data={"code": code, "message": message, **extra},
    )


# --- reading ---


def job_status(*, session: Session, job_id: uuid.UUID) -> JobStatus | None:
    return session.scalar(select(Job.status).where(Job.id == job_id))


def list_events(
    *,
    session: Session,
    job_id: uuid.UUID,
    after: int | None = None,
    limit: int | None = None,
    types: list[str] | None = None,
) -> list[Event]:
    """The job's events, oldest first."""
    query = select(Event).where(Event.job_id == job_id)
    if after is not None:
        query = query.where(Event.id > after)
    if types:
        query = query.where(Event.type.in_(types))
    query = query.order_by(Event.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def owner_stream_events(
    *, session: Session, owner_id: uuid.UUID, after: int | None, limit: int = 1000
) -> list[Event]:
    """The owner's events of the owner's stream after `after`, oldest first: every job's
    `status` events and every data set's `dataset` events."""
    query = select(Event).where(Event.owner_id == owner_id, Event.type.in_(OWNER_STREAM_TYPES))
    if after is not None:
        query = query.where(Event.id > after)
    return list(session.scalars(query.order_by(Event.id).limit(limit)))


def events_after(*, session: Session, after: int, limit: int = 5000) -> list[Event]:
    """Every job's events after id `after` (the API's shared poller)."""
    return list(
        session.scalars(select(Event).where(Event.id > after).order_by(Event.id).limit(limit))
    )


def last_event_id_before(*, session: Session, before: datetime) -> int:
    """The highest id of an event created before `before` (0 if none): where a poller starts."""
    return int(session.scalar(select(func.max(Event.id)).where(Event.created_at < before)) or 0)


# --- after commit: tell the process's listeners ---


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    committed = session.info.pop(_PENDING, None)
    if committed is None:
        return
    for listener in list(_listeners):
        try:
            listener(committed)
        except Exception:
            # The events are committed; the API's poller and the reaper's outbox pass make up
            # for a listener that failed (Redis down, broker down).
            log.exception("commit listener %r failed", listener)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
