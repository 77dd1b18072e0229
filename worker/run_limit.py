"""A job's run-time limit (JOB_TIMEOUT_S, all attempts together), as the worker's main process
enforces it on a training process that no longer checks it itself (hung, stopped, deadlocked).

Torch-free: imported by the supervisor as well as by the training process.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.orm import Session

from core.settings import Settings
from core.spec import ResolvedSpec
from core.store.held import epochs_done
from core.store.lifecycle import LeaseLost, end_job
from core.store.tables import JobStatus
from worker.db import store_call

log = logging.getLogger(__name__)

# Seconds past the job's limit before the worker's main process ends it. The training process
# ends a job at its limit itself, between two batches, on a clock that starts only once torch
# has loaded (seconds on a busy machine) — this process's clock starts at the process's start.
# The grace covers that start and a batch, so a training process that still runs ends its own
# job (naming the epochs it did); only one that stopped making progress is ended from here.
GRACE_S = 10.0


def timeout_message(
    limit_s: float, epochs_done: int | str, epochs: int | str, *, hung: bool = False
) -> str:
    """What the owner reads on a job that failed with `timeout`."""
    stalled = "; its training process had stopped making progress" if hung else ""
    return (
        f"ran longer than the {limit_s:g} s limit of this service ({epochs_done} of {epochs} "
        f"epochs done{stalled}); submit fewer epochs or a smaller network"
    )


def seconds_left(settings: Settings, earlier_run_seconds: float) -> float:
    """Seconds of running a new attempt may take before the worker ends it (grace included)."""
    return max(settings.job_timeout_s - earlier_run_seconds, 0.0) + GRACE_S


def end_overdue(
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    settings: Settings,
    *,
    run_seconds: float,
    spec: dict[str, Any],
) -> bool:
    """End the held job failed/`timeout`; False when the lease was gone (the job ended meanwhile,
    by its training process or a cancel)."""

    def end(session: Session) -> None:
        done = epochs_done(session=session, job_id=job_id)
        end_job(
            session=session,
            job_id=job_id,
            lease_id=lease_id,
            status=JobStatus.failed,
            error_code="timeout",
            error_message=timeout_message(
                settings.job_timeout_s, done, ResolvedSpec.from_stored(spec).epochs, hung=True
            ),
            run_seconds=run_seconds,
        )

    try:
        store_call(settings, end, what=f"end overdue job {job_id}")
    except LeaseLost:
        return False
    return True
