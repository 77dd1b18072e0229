"""SQLAlchemy 2.0 tables: owners and their API keys, jobs, per-epoch metrics, checkpoints, weights.

Every schema change comes with an Alembic migration in `core/store/migrations/versions/`.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.store.types import Blob, JsonDoc, UtcDateTime, utcnow

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    # Issue 20: ended by its sweep's early-stopping rule; its epochs and weights are kept.
    stopped = "stopped"

    @property
    def terminal(self) -> bool:
        return self in (
            JobStatus.succeeded,
            JobStatus.failed,
            JobStatus.cancelled,
            JobStatus.stopped,
        )


class Owner(Base):
    __tablename__ = "owners"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    # The first characters of the key, stored in clear to find the row; the rest only hashed.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole key
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner_id", "idempotency_key"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
        Index("ix_jobs_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, name="job_status", native_enum=False, length=16),
        default=JobStatus.queued,
    )
    # The resolved request (defaults filled in): enough to repeat the run exactly.
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    init_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # POST /jobs/{id}/rerun: the job whose resolved spec this one repeats.
    rerun_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    # Issue 20: the earlier run this job's results were copied from (`reuse`), instead of training.
    reused_from: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the id was last handed to the broker; NULL means a message is owed (outbox).
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    # Claim and lease: one worker at a time may write to a running job.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Seconds of training spent by earlier attempts, so the run-time limit spans resumes.
    run_seconds: Mapped[float] = mapped_column(Float, default=0.0)

    epochs_done: Mapped[int] = mapped_column(Integer, default=0)
    final_test_accuracy: Mapped[float | None] = mapped_column(Float, default=None)
    final_test_loss: Mapped[float | None] = mapped_column(Float, default=None)
    best_test_accuracy: Mapped[float | None] = mapped_column(Float, default=None)
    best_epoch: Mapped[int | None] = mapped_column(Integer, default=None)
    # Per-class accuracy and confusion matrix of the final model on the test set.
    results: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    # A tombstone: the job's stored data (weights, checkpoint) is gone, the row stays so that its
    # id is never reused and GET can say so. Reason: one of core.store.storage.DeletedBy.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    deleted_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    # Sweeps (issue 10): the sweep a job belongs to, its point in the grid (the values that
    # set it apart from its siblings), and its priority among its owner's queued jobs.
    sweep_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sweeps.id", ondelete="SET NULL"), default=None, index=True
    )
    sweep_point: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)
    priority: Mapped[int] = mapped_column(Integer, default=0)


class Sweep(Base):
    """Many jobs from one request: a grid, a random search or a preset (issue 10)."""

    __tablename__ = "sweeps"
    __table_args__ = (
        UniqueConstraint("owner_id", "idempotency_key"),
        Index("ix_sweeps_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    preset: Mapped[str | None] = mapped_column(String(64), default=None)
    # The request as sent (after validation): enough to show how the children were made.
    request: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    # Grid fields that vary between children, in order (the report's configuration columns).
    varying: Mapped[list[str]] = mapped_column(JsonDoc)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_parallel: Mapped[int | None] = mapped_column(Integer, default=None)  # running at once
    children: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EpochRecord(Base):
    __tablename__ = "epoch_metrics"
    __table_args__ = (UniqueConstraint("job_id", "epoch"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)  # 1-based
    train_loss: Mapped[float] = mapped_column(Float)
    train_accuracy: Mapped[float] = mapped_column(Float)
    test_loss: Mapped[float] = mapped_column(Float)
    test_accuracy: Mapped[float] = mapped_column(Float)
    learning_rate: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    images_per_second: Mapped[float] = mapped_column(Float)
    validation_loss: Mapped[float | None] = mapped_column(Float, default=None)  # issue 20
    validation_accuracy: Mapped[float | None] = mapped_column(Float, default=None)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Checkpoint(Base):
    """The trainer's latest full checkpoint (torch.save bytes); one row per job, overwritten."""

    __tablename__ = "checkpoints"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(Integer)  # epochs completed
    batch: Mapped[int] = mapped_column(Integer)  # batches done in the next epoch
    data: Mapped[bytes] = mapped_column(Blob)
    size: Mapped[int] = mapped_column(BigInteger)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Weights(Base):
    """The trained state_dict (torch.save bytes) of a succeeded job."""

    __tablename__ = "weights"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(Blob)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Artifact(Base):
    """What a succeeded job gives back besides the .pt (issue 11): `weights.safetensors`,
    `weights.onnx`, `report.json`; `info` holds, for the ONNX file, its check against PyTorch."""

    __tablename__ = "artifacts"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[bytes] = mapped_column(Blob)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    info: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Throughput(Base):
    """Training speed a worker measured, for POST /jobs/estimate; the latest job's figure."""

    __tablename__ = "throughput"

    device: Mapped[str] = mapped_column(String(255), primary_key=True)  # e.g. "NVIDIA H100"
    architecture: Mapped[str] = mapped_column(String(16), primary_key=True)
    depth: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_size: Mapped[int] = mapped_column(Integer, primary_key=True)
    precision: Mapped[str] = mapped_column(String(16), primary_key=True)  # as actually used
    # training images per second of epoch wall time (evaluation and checkpoint included)
    images_per_second: Mapped[float] = mapped_column(Float)
    epochs: Mapped[int] = mapped_column(Integer)  # epochs the figure is the median of
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Event(Base):
    """One thing that happened to a job (issue 8), written in the transaction of the change it
    reports, so the log and the job never disagree. Ids only grow (AUTOINCREMENT on SQLite too:
    a deleted job's ids are never reused, so a client's Last-Event-ID stays meaningful)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_job_id_id", "job_id", "id"),
        Index("ix_events_owner_type_id", "owner_id", "type", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # status, attempt, epoch, warning
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The job's event before this one: a live reader that missed it sees the gap and re-reads.
    prev_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class JobProgress(Base):
    """The latest progress inside an epoch, one row per job updated in place (embedded set-up
    only; with Redis it lives there under a TTL). Never a row per report."""

    __tablename__ = "job_progress"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


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


class JobAttempt(Base):
    """One attempt's environment (versions, device, precision, data fingerprint; issue 11)."""

    __tablename__ = "job_attempts"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)  # Job.attempts when it ran
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    environment: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
