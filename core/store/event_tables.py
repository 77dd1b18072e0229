"""SQLAlchemy 2.0 tables of the event log (issue 8) and of webhook deliveries: each job's events,
where they go, the owners' signing secrets, deliveries and their attempts.

Every schema change comes with an Alembic migration in `core/store/migrations/versions/`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.tables import Base
from core.store.types import JsonDoc, UtcDateTime, utcnow


class Event(Base):
    """One thing that happened to a job (issue 8), or to an uploaded data set (issue 19: its
    `dataset` events, on the owner's stream), written in the transaction of the change it
    reports, so the log and the job never disagree. Ids only grow (AUTOINCREMENT on SQLite too:
    a deleted job's ids are never reused, so a client's Last-Event-ID stays meaningful)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_job_id_id", "job_id", "id"),
        Index("ix_events_owner_type_id", "owner_id", "type", "id"),
        Index("ix_events_dataset_id_id", "dataset_id", "id"),
        # Each event is about one thing: a job or a data set.
        CheckConstraint("(job_id IS NULL) <> (dataset_id IS NULL)", name="one_subject"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), default=None
    )
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), default=None
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # status, attempt, epoch, warning, dataset
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The job's (or data set's) event before this one: a live reader that missed it sees the
    # gap and re-reads.
    prev_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class JobWebhook(Base):
    """Where a job's events go (POST /jobs `webhook_url`, `webhook_events`)."""

    __tablename__ = "job_webhooks"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text)
    # Event types to send; None: only the final status event.
    events: Mapped[list[str] | None] = mapped_column(JsonDoc, default=None)


class WebhookSecret(Base):
    """An owner's signing secret (Standard Webhooks `whsec_...`), kept in clear: HMAC needs it."""

    __tablename__ = "webhook_secrets"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("owners.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event to send to one URL; its attempts are WebhookAttempt rows."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)  # 1-based
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
