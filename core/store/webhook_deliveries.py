"""Webhook secrets and deliveries in the store (issue 8). Deliveries are created with the event
they carry (`core.store.events.record_event`); the worker's task sends them and records each
attempt here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.event_tables import Event, WebhookAttempt, WebhookDelivery, WebhookSecret
from core.store.events import event_message, public
from core.store.keys import get_or_create_owner
from core.store.tables import Job
from core.store.types import utcnow


def webhook_secret(
    *, session: Session, owner_name: str, new_secret: str, rotate: bool = False
) -> str:
    """The owner's secret; `new_secret` becomes it when there is none yet, or on `rotate`."""
    owner = get_or_create_owner(session=session, name=owner_name)
    session.flush()
    row = session.get(WebhookSecret, owner.id)
    if row is None:
        session.add(WebhookSecret(owner_id=owner.id, secret=new_secret, created_at=utcnow()))
    elif rotate:
        row.secret, row.created_at = new_secret, utcnow()
    else:
        return row.secret
    session.commit()
    return new_secret


@dataclass(frozen=True)
class Outgoing:
    """What one attempt of a delivery sends."""

    delivery_id: int
    url: str
    attempt: int  # the number of this attempt, 1-based
    created_at: datetime
    next_try_at: datetime | None
    secret: str | None
    message_id: str
    body: dict[str, Any]


def outgoing(*, session: Session, delivery_id: int) -> Outgoing | None:
    """The delivery's next attempt, or None when it is delivered or given up."""
    row = session.execute(
        select(WebhookDelivery, Event, Job.owner_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .join(Job, Job.id == WebhookDelivery.job_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if row is None or row[0].state != "pending":
        return None
    delivery, event, owner_id = row
    secret = session.scalar(select(WebhookSecret.secret).where(WebhookSecret.owner_id == owner_id))
    return Outgoing(
        delivery_id=delivery.id,
        url=delivery.url,
        attempt=delivery.attempts + 1,
        created_at=delivery.created_at,
        next_try_at=delivery.next_try_at,
        secret=secret,
        message_id=f"evt_{event.id}",
        body=public(event_message(event)),
    )


def record_attempt(
    *,
    session: Session,
    delivery_id: int,
    attempt: int,
    status_code: int | None,
    duration_ms: float,
    error: str | None,
    state: str,
    next_try_at: datetime | None,
) -> bool:
    """Record attempt number `attempt`; False (nothing written) if another run recorded it."""
    done = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempts == attempt - 1,
            WebhookDelivery.state == "pending",
        )
        .values(attempts=attempt, state=state, next_try_at=next_try_at)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempt=attempt,
            attempted_at=utcnow(),
            status_code=status_code,
            duration_ms=duration_ms,
            error=error,
            next_try_at=next_try_at,
        )
    )
    session.commit()
    return True


def job_deliveries(
    *, session: Session, job_id: uuid.UUID
) -> list[tuple[WebhookDelivery, str, list[WebhookAttempt]]]:
    """The job's deliveries, oldest first, each with its event's type and its attempts."""
    rows = session.execute(
        select(WebhookDelivery, Event.type)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.job_id == job_id)
        .order_by(WebhookDelivery.id)
    ).all()
    ids = [row[0].id for row in rows]
    attempts: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(row[0], row[1], attempts[row[0].id]) for row in rows]


def due_deliveries(*, session: Session, before: datetime, limit: int = 100) -> list[int]:
    """Pending deliveries whose next try was due before `before`: their message was lost."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_try_at < before)
            .order_by(WebhookDelivery.next_try_at)
            .limit(limit)
        )
    )


def ensure_secret(*, session: Session, owner_id: uuid.UUID, new_secret: str) -> None:
    """Give the owner a signing secret if it has none (in the caller's transaction), so that
    every delivery is signed."""
    if session.get(WebhookSecret, owner_id) is not None:
        return
    try:
        with session.begin_nested():  # a racing submission may add it first: keep theirs
            session.add(WebhookSecret(owner_id=owner_id, secret=new_secret, created_at=utcnow()))
    except IntegrityError:
        pass
