"""One job's training inside the training process: heartbeat, fit, and write how it ended.

Every write names the job's lease, so once the lease is lost (cancelled and reaped, handed to
another worker) nothing more is written. Imports torch: loaded by `worker.train_child` only.
"""

from __future__ import annotations

import enum
import hashlib
import io
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import torch
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.jobs import load_weights
from core.store.lifecycle import (
    LeaseLost,
    end_job,
    finish_job,
    load_checkpoint,
    release_job,
    save_progress,
)
from core.store.tables import Job, JobStatus
from core.trainer import Checkpoint, EpochMetrics, FitResult, TrainConfig, fit, load_cifar
from worker.db import store_call
from worker.failures import Failure, InitFromUnusable, describe_failure
from worker.job_config import train_config
from worker.lease import Lease
from worker.run_limit import timeout_message

log = logging.getLogger(__name__)

T = TypeVar("T")

# The columns of one epoch's metrics record (core.store.tables.EpochRecord).
METRIC_FIELDS = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "learning_rate",
    "seconds",
    "images_per_second",
)


class Stop(enum.Enum):
    cancel = "cancel"  # the owner asked
    shutdown = "shutdown"  # SIGTERM: the worker is going away, hand the job back
    timeout = "timeout"  # JOB_TIMEOUT_S of run time, all attempts together
    lease_lost = "lease_lost"  # someone else holds the job now: write nothing


class JobRun:
    """The callbacks `fit` gets for one job, and what they learned."""

    def __init__(
        self,
        settings: Settings,
        job_id: uuid.UUID,
        lease: Lease,
        *,
        earlier_run_seconds: float,
        shutdown: threading.Event,
    ) -> None:
        self.settings = settings
        self.job_id = job_id
        self.lease = lease
        self.shutdown = shutdown
        self.earlier_run_seconds = earlier_run_seconds
        self.started = time.monotonic()
        self.stop: Stop | None = None
        self.pending: EpochMetrics | None = None
        self.config: TrainConfig | None = None  # once built from the spec

    def run_seconds(self) -> float:
        return self.earlier_run_seconds + (time.monotonic() - self.started)

    def should_stop(self) -> bool:
        if self.stop is None:
            self.stop = self._stop_reason()
        return self.stop is not None

    def _stop_reason(self) -> Stop | None:
        if self.lease.lost.is_set():
            return Stop.lease_lost
        if self.lease.cancel_requested.is_set():
            return Stop.cancel
        if self.shutdown.is_set():
            return Stop.shutdown
        if self.run_seconds() > self.settings.job_timeout_s:
            return Stop.timeout
        return None

    def on_epoch(self, metrics: EpochMetrics) -> None:
        # Written with the checkpoint that follows, in one transaction: a metrics record is
        # never ahead of (or behind) the state a resumed run starts from.
        self.pending = metrics
        log.info(
            "job %s: epoch %d: train loss %.4f, test accuracy %.4f",
            self.job_id,
            metrics.epoch,
            metrics.train_loss,
            metrics.test_accuracy,
        )

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        if self.lease.lost.is_set():
            raise LeaseLost(f"job {self.job_id}: lease lost")
        epoch, batch = int(checkpoint["epoch"]), int(checkpoint["batch"])
        metrics = None
        if self.pending is not None and self.pending.epoch == epoch:
            values = self.pending.as_dict()
            metrics = {name: values[name] for name in METRIC_FIELDS}
            self.pending = None
        data = to_bytes(checkpoint)
        run_seconds = self.run_seconds()

        def save(session: Session) -> None:
            save_progress(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease.lease_id,
                checkpoint=data,
                epoch=epoch,
                batch=batch,
                run_seconds=run_seconds,
                metrics=metrics,
            )

        try:
            self.write(save, what="save progress")
        except LeaseLost:
            self.lease.lost.set()
            raise

    def write(self, action: Callable[[Session], T], *, what: str) -> T:
        return store_call(self.settings, action, what=f"{what} of job {self.job_id}")


def to_bytes(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def train(
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    settings: Settings,
    *,
    shutdown: threading.Event | None = None,
    lease: Lease | None = None,
    scratch: Path | None = None,
) -> JobStatus | None:
    """Train the claimed job and record its end; returns the status written (None: lease lost).

    `shutdown` is set by SIGTERM: the job is then checkpointed and handed back to the queue.
    `lease`, when given, is already renewing the job's lease (the training process starts it
    before torch loads); otherwise one is started here. `scratch` is a folder for the job's
    files that the caller removes (the supervisor, once this process has exited, killed or
    not); without it a temporary folder is made, and removed only if this process lives on.
    """
    if lease is None:
        lease = Lease(settings, job_id, lease_id)
        if not lease.begin():
            return None
    try:
        job = store_call(
            settings, lambda session: session.get(Job, job_id), what=f"read job {job_id}"
        )
        if job is None or job.lease_id != lease_id or job.status != JobStatus.running:
            log.warning("job %s: not held by lease %s; nothing to do", job_id, lease_id)
            return None
        run = JobRun(
            settings,
            job_id,
            lease,
            earlier_run_seconds=job.run_seconds,
            shutdown=shutdown or threading.Event(),
        )
        return _train(job, run, scratch)
    except LeaseLost:
        log.warning("job %s: lease lost; the job is someone else's now", job_id)
        return None
    finally:
        lease.stop()


def _train(job: Job, run: JobRun, scratch: Path | None) -> JobStatus | None:
    settings, job_id = run.settings, run.job_id
    try:
        with _init_weights(job, settings, scratch) as init_weights:
            try:
                config = run.config = train_config(job.spec, settings, init_weights=init_weights)
            except ValueError as error:
                raise Failure(
                    "invalid_spec", f"the job's settings are not trainable: {error}"
                ) from error
            checkpoint = run.write(
                lambda session: load_checkpoint(session=session, job_id=job_id),
                what="load checkpoint",
            )
            resume_from = None
            if checkpoint is not None:
                resume_from = torch.load(io.BytesIO(checkpoint), weights_only=True)
                log.info(
                    "job %s: resuming after epoch %d, batch %d",
                    job_id,
                    resume_from["epoch"],
                    resume_from["batch"],
                )
            log.info(
                "job %s: training %s-%d on %s for %d epochs",
                job_id,
                config.architecture,
                config.depth,
                config.dataset,
                config.epochs,
            )
            result = fit(
                config,
                on_epoch=run.on_epoch,
                should_stop=run.should_stop,
                resume_from=resume_from,
                on_checkpoint=run.on_checkpoint,
                checkpoint_interval_s=settings.checkpoint_interval_s,
            )
    except LeaseLost:
        raise
    except Exception as error:
        if run.lease.lost.is_set():
            raise LeaseLost(f"job {job_id}: lease lost") from error
        failure = describe_failure(error, config=run.config, settings=settings, spec=job.spec)
        if failure.code == "internal_error":
            log.exception("job %s: training failed", job_id)
        return _fail(run, failure)
    if result.stopped and run.stop is not None:
        return _stopped(run, result)
    return _succeed(run, result)


@contextmanager
def _init_weights(job: Job, settings: Settings, scratch: Path | None) -> Iterator[Path | None]:
    """The weights the job starts from (`init_from`) as a file, for as long as training runs."""
    if job.spec.get("init_from") is None and job.init_from_id is None:
        yield None
        return
    source = job.init_from_id or uuid.UUID(str(job.spec["init_from"]))
    weights = store_call(
        settings,
        lambda session: load_weights(session=session, job_id=source),
        what=f"load the weights of job {source}",
    )
    if weights is None:
        raise InitFromUnusable(
            f"job {source} has no weights (it has not succeeded, or was deleted); "
            "start from a succeeded job"
        )
    if scratch is not None:
        path = scratch / f"{source}.pt"
        path.write_bytes(weights)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="crs-init-") as folder:
        path = Path(folder) / f"{source}.pt"
        path.write_bytes(weights)
        yield path


def _succeed(run: JobRun, result: FitResult) -> JobStatus:
    weights = to_bytes(result.state_dict)
    sha256 = hashlib.sha256(weights).hexdigest()
    results = {
        "classes": class_names(result, run.config),
        "per_class_accuracy": _plain(result.per_class_accuracy),
        "confusion_matrix": _plain(result.confusion_matrix),
    }
    run_seconds = run.run_seconds()

    def finish(session: Session) -> None:
        finish_job(
            session=session,
            job_id=run.job_id,
            lease_id=run.lease.lease_id,
            weights=weights,
            sha256=sha256,
            run_seconds=run_seconds,
            final_test_accuracy=result.test_accuracy,
            final_test_loss=result.test_loss,
            best_test_accuracy=result.best_test_accuracy,
            best_epoch=result.best_epoch,
            results=results,
        )

    run.lease.stop()  # the final write renews the lease itself; a beat after it would warn
    run.write(finish, what="finish")
    log.info(
        "job %s: succeeded: test accuracy %.4f after %d epochs (%.0f s)",
        run.job_id,
        result.test_accuracy,
        result.epochs_completed,
        run_seconds,
    )
    return JobStatus.succeeded


def class_names(result: FitResult, config: TrainConfig | None) -> list[str] | None:
    """The dataset's class names, in label order (the rows of the confusion matrix)."""
    names = getattr(result, "classes", None)  # FitResult carries them in later trainers
    if names is None and config is not None:
        # Reads the dataset again (about a second for CIFAR-10), once per job.
        names = load_cifar(config.data_dir, config.dataset).classes
    return list(names) if names is not None else None


def _stopped(run: JobRun, result: FitResult) -> JobStatus | None:
    stop, job_id, lease_id = run.stop, run.job_id, run.lease.lease_id
    run_seconds = run.run_seconds()
    if stop is Stop.lease_lost:
        log.warning("job %s: lease lost; stopped without writing", job_id)
        return None
    run.lease.stop()
    if stop is Stop.shutdown:
        run.write(
            lambda session: release_job(
                session=session, job_id=job_id, lease_id=lease_id, run_seconds=run_seconds
            ),
            what="hand back",
        )
        log.info(
            "job %s: handed back to the queue after %d epochs (worker shutting down)",
            job_id,
            result.epochs_completed,
        )
        return JobStatus.queued
    if stop is Stop.cancel:
        run.write(
            lambda session: end_job(
                session=session,
                job_id=job_id,
                lease_id=lease_id,
                status=JobStatus.cancelled,
                run_seconds=run_seconds,
            ),
            what="cancel",
        )
        log.info("job %s: cancelled after %d epochs", job_id, result.epochs_completed)
        return JobStatus.cancelled
    epochs = run.config.epochs if run.config is not None else "?"
    failure = Failure(
        "timeout", timeout_message(run.settings.job_timeout_s, result.epochs_completed, epochs)
    )
    return _fail(run, failure)


def _fail(run: JobRun, failure: Failure) -> JobStatus:
    run.lease.stop()
    run_seconds = run.run_seconds()
    run.write(
        lambda session: end_job(
            session=session,
            job_id=run.job_id,
            lease_id=run.lease.lease_id,
            status=JobStatus.failed,
            error_code=failure.code,
            error_message=failure.message,
            run_seconds=run_seconds,
        ),
        what="record failure",
    )
    log.warning("job %s: failed: %s: %s", run.job_id, failure.code, failure.message)
    return JobStatus.failed


def _plain(value: Any) -> Any:
    """Tensors and arrays as nested lists, so the results go into a JSON column."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
