"""The callbacks `fit` gets for one job in the training process, and what they learned: when to
stop (cancel, shutdown, run-time limit, lost lease) and each checkpoint with its epoch's metrics,
written under the job's lease."""

from __future__ import annotations

import enum
import io
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from sqlalchemy.orm import Session

from core.metrics import metric_names
from core.settings import Settings
from core.spec import TrainConfig
from core.trainer.checkpoint import Checkpoint
from core.trainer.results import EpochMetrics
from core.trainer.watchdog import TrainingWarning
from worker.held_job import HeldJob, LeaseLost
from worker.store_calls import store_call
from worker.training_process.lease import Lease
from worker.training_process.progress_reporter import ProgressReporter

log = logging.getLogger(__name__)

T = TypeVar("T")


class Stop(enum.Enum):
    cancel = "cancel"  # the owner asked
    shutdown = "shutdown"  # SIGTERM: the worker is going away, hand the job back
    timeout = "timeout"  # JOB_TIMEOUT_S of run time, all attempts together
    lease_lost = "lease_lost"  # someone else holds the job now: write nothing
    early_stopped = "early_stopped"  # its sweep's rule (issue 20): ends `stopped`, weights kept


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
        self.held: HeldJob = lease.held
        self.shutdown = shutdown
        self.earlier_run_seconds = earlier_run_seconds
        self.started = time.monotonic()
        self.stop: Stop | None = None
        self.pending: EpochMetrics | None = None
        # The watchdog's findings (issue 22), stored as `warning` events with the next
        # checkpoint, so that each follows the epoch that showed it.
        self.pending_warnings: list[dict[str, Any]] = []
        self.config: TrainConfig | None = None  # once built from the spec
        self.progress: ProgressReporter | None = None  # live progress (issue 8)
        # Issue 20: this run's validation errors (%) by epoch, and its sweep's decision to stop.
        self.validation_errors: dict[int, float] = {}
        self.early_stop: dict[str, Any] | None = None
        # The checkpoint write in flight (one at a time) and how the last one failed, if it did:
        # training goes on while the store writes; a failure surfaces at the next checkpoint
        # or at the end (`finish_writes`).
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None

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
        if self.early_stop is not None:
            return Stop.early_stopped
        return None

    def on_epoch(self, metrics: EpochMetrics) -> None:
        # Written with the checkpoint that follows, in one transaction: a metrics record is
        # never ahead of (or behind) the state a resumed run starts from.
        self.pending = metrics
        if self.progress is not None:
            self.progress.epoch_seconds = metrics.seconds
        if metrics.validation_accuracy is not None:
            # Decided before the next epoch's first batch, so a stopped run keeps the weights
            # of the epoch it was judged on.
            self.validation_errors[metrics.epoch] = 1 - metrics.validation_accuracy
            self.early_stop = self.held.early_stop(dict(self.validation_errors))
        log.info(
            "job %s: epoch %d: train loss %.4f, test accuracy %.4f",
            self.job_id,
            metrics.epoch,
            metrics.train_loss,
            metrics.test_accuracy,
        )

    def on_warning(self, warning: TrainingWarning) -> None:
        self.pending_warnings.append(
            {"code": warning.code, "message": warning.message, "epoch": warning.epoch}
        )

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        if self.lease.lost.is_set():
            raise LeaseLost(f"job {self.job_id}: lease lost")
        epoch, batch = int(checkpoint["epoch"]), int(checkpoint["batch"])
        metrics = None
        if self.pending is not None and self.pending.epoch == epoch:
            values = self.pending.as_dict()
            metrics = {name: values[name] for name in metric_names()}
            self.pending = None
        warnings, self.pending_warnings = self.pending_warnings, []
        data = to_bytes(checkpoint)
        run_seconds = self.run_seconds()

        def save() -> None:
            self.held.save_progress(
                checkpoint=data,
                epoch=epoch,
                batch=batch,
                run_seconds=run_seconds,
                metrics=metrics,
                warnings=warnings,
            )

        # Never two writes in flight for one job: the previous one lands (or fails) first.
        self.finish_writes()
        self._writer = threading.Thread(
            target=self._write_progress, args=(save,), name=f"checkpoint-{self.job_id}", daemon=True
        )
        self._writer.start()

    def _write_progress(self, save: Callable[[], None]) -> None:
        try:
            save()
        except LeaseLost as error:
            self.lease.lost.set()
            self._write_error = error
        except BaseException as error:  # surfaces in the training thread
            self._write_error = error

    def wait_for_writes(self) -> None:
        """Wait for the checkpoint write in flight, if any (its failure stays pending)."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def finish_writes(self) -> None:
        """Wait for the write in flight and raise its failure (LeaseLost among them)."""
        self.wait_for_writes()
        error, self._write_error = self._write_error, None
        if error is not None:
            raise error

    def write(self, action: Callable[[Session], T], *, what: str) -> T:
        return store_call(self.settings, action, what=f"{what} of job {self.job_id}")


def to_bytes(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()
