"""SQLAlchemy 2.0 tables: owners and their API keys, jobs, sweeps, per-epoch metrics, checkpoints,
weights, artifacts, progress, attempts and the workers' data sets. The event log and webhook
tables: event_tables.py.

Every schema change comes with an Alembic migration in `core/store/migrations/versions/`.
"""

from __future__ import annotations

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
from core.vocabulary import JobStatus  # the column's enum; the statuses are listed there

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


class JobProgress(Base):
    """The latest progress inside an epoch, one row per job updated in place (embedded set-up
    only; with Redis it lives there under a TTL). Never a row per report."""

    __tablename__ = "job_progress"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


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


class WorkerData(Base):
    """What each training worker has in its DATA_DIR, reported at start-up and periodically
    (issue 18), so that the API can refuse a data set that no worker has."""

    __tablename__ = "worker_data"

    worker: Mapped[str] = mapped_column(String(255), primary_key=True)  # Celery node name
    datasets: Mapped[list[str]] = mapped_column(JsonDoc)  # present in DATA_DIR
    may_download: Mapped[bool] = mapped_column(Boolean)  # DOWNLOAD_DATASETS
    train_images: Mapped[dict[str, int]] = mapped_column(JsonDoc)  # by data set, extracted ones
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
