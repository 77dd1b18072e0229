"""How a training run ends, written under the job's lease: succeeded (weights and results),
handed back, cancelled, or failed with a code and a message for the owner."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from core.store.tables import JobStatus
from core.trainer.results import FitResult
from worker.held_job import timeout_message
from worker.training_process.exports import store_exports
from worker.training_process.failures import Failure
from worker.training_process.job_run import JobRun, Stop, to_bytes

log = logging.getLogger(__name__)


def succeed(run: JobRun, result: FitResult) -> JobStatus:
    """Store the weights and results: succeeded, or `stopped` when the sweep's early-stopping
    rule ended the run (issue 20; the decision goes into the results)."""
    store_exports(run, result)  # issue 11: other formats, the report; before the job ends
    weights = to_bytes(result.state_dict)
    sha256 = hashlib.sha256(weights).hexdigest()
    results = {
        "classes": list(result.classes),
        "per_class_accuracy": plain(result.per_class_accuracy),
        "confusion_matrix": plain(result.confusion_matrix),
    }
    status = JobStatus.succeeded
    if run.stop is Stop.early_stopped and run.early_stop is not None:
        status, results["early_stopping"] = JobStatus.stopped, run.early_stop
    run_seconds = run.run_seconds()
    run.lease.stop()  # the final write renews the lease itself; a beat after it would warn
    run.held.finish(
        weights=weights,
        sha256=sha256,
        run_seconds=run_seconds,
        final_test_accuracy=result.test_accuracy,
        final_test_loss=result.test_loss,
        best_test_accuracy=result.best_test_accuracy,
        best_epoch=result.best_epoch,
        results=results,
        status=status,
    )
    log.info(
        "job %s: %s: test accuracy %.4f after %d epochs (%.0f s)",
        run.job_id,
        status.value,
        result.test_accuracy,
        result.epochs_completed,
        run_seconds,
    )
    return status


def stopped(run: JobRun, result: FitResult) -> JobStatus | None:
    stop, job_id = run.stop, run.job_id
    run_seconds = run.run_seconds()
    if stop is Stop.lease_lost:
        log.warning("job %s: lease lost; stopped without writing", job_id)
        return None
    if stop is Stop.early_stopped:
        return succeed(run, result)
    run.lease.stop()
    if stop is Stop.shutdown:
        run.held.hand_back(run_seconds)
        log.info(
            "job %s: handed back to the queue after %d epochs (worker shutting down)",
            job_id,
            result.epochs_completed,
        )
        return JobStatus.queued
    if stop is Stop.cancel:
        run.held.end(JobStatus.cancelled, run_seconds=run_seconds)
        log.info("job %s: cancelled after %d epochs", job_id, result.epochs_completed)
        return JobStatus.cancelled
    epochs = run.config.epochs if run.config is not None else "?"
    failure = Failure(
        "timeout", timeout_message(run.settings.job_timeout_s, result.epochs_completed, epochs)
    )
    return fail(run, failure)


def fail(run: JobRun, failure: Failure) -> JobStatus:
    run.lease.stop()
    run_seconds = run.run_seconds()
    run.held.end(
        JobStatus.failed,
        error_code=failure.code,
        error_message=failure.message,
        run_seconds=run_seconds,
    )
    log.warning("job %s: failed: %s: %s", run.job_id, failure.code, failure.message)
    return JobStatus.failed


def plain(value: Any) -> Any:
    """Tensors and arrays as nested lists, so the results go into a JSON column."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
