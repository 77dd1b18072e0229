"""Moving a sweep's children along as a worker would, with chosen test and validation curves
(issue 20's tests: selection, retry, reuse, early stopping)."""

from __future__ import annotations

import uuid

from core.store import lifecycle
from core.store.db import session_scope
from core.store.tables import JobStatus
from tests.api.conftest import start_job


def record(epoch: int, test: float, validation: float | None) -> dict[str, float | None]:
    """An epoch record with these accuracies (0 to 1)."""
    return {
        "epoch": epoch,
        "train_loss": 1.0 / epoch,
        "train_accuracy": 0.9,
        "test_loss": 1.0 - test,
        "test_accuracy": test,
        "learning_rate": 0.1,
        "seconds": 1.0,
        "images_per_second": 1000.0,
        "validation_loss": None if validation is None else 1.0 - validation,
        "validation_accuracy": validation,
    }


def run_epochs(
    database_url: str, job_id: uuid.UUID | str, test: list[float], validation: list[float] | None
) -> lifecycle.Claim:
    """Claim the job and store one record per epoch; the claim, for finishing it."""
    claim = start_job(database_url, uuid.UUID(str(job_id)))
    with session_scope(database_url) as session:
        for index, accuracy in enumerate(test):
            lifecycle.save_progress(
                session=session,
                job_id=claim.job_id,
                lease_id=claim.lease_id,
                checkpoint=b"checkpoint",
                epoch=index + 1,
                batch=0,
                run_seconds=float(index + 1),
                metrics=record(index + 1, accuracy, validation[index] if validation else None),
            )
    return claim


def finish(
    database_url: str,
    job_id: uuid.UUID | str,
    test: list[float],
    validation: list[float] | None = None,
) -> None:
    """Run the child to success with these per-epoch accuracies."""
    claim = run_epochs(database_url, job_id, test, validation)
    with session_scope(database_url) as session:
        lifecycle.finish_job(
            session=session,
            job_id=claim.job_id,
            lease_id=claim.lease_id,
            weights=b"weights",
            sha256="0" * 64,
            run_seconds=1.0,
            final_test_accuracy=test[-1],
            final_test_loss=1.0 - test[-1],
            best_test_accuracy=max(test),
            best_epoch=test.index(max(test)) + 1,
            results={},
        )


def fail(database_url: str, job_id: uuid.UUID | str) -> None:
    claim = start_job(database_url, uuid.UUID(str(job_id)))
    with session_scope(database_url) as session:
        lifecycle.end_job(
            session=session,
            job_id=claim.job_id,
            lease_id=claim.lease_id,
            status=JobStatus.failed,
            error_code="out_of_memory",
            error_message="CUDA out of memory; try a smaller batch_size",
        )
