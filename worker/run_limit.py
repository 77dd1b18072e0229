"""A job's run-time limit (JOB_TIMEOUT_S, all attempts together), as the worker's main process
enforces it on a training process that no longer checks it itself (hung, stopped, deadlocked).

Torch-free, as the whole main process (the training process's own check is in
`worker.training_process.job_run`).
"""

from __future__ import annotations

import uuid
from typing import Any

from core.settings import Settings
from worker.held_job import HeldJob, LeaseLost

# Seconds past the job's limit before the worker's main process ends it. The training process
# ends a job at its limit itself, between two batches, on a clock that starts only once torch
# has loaded (seconds on a busy machine) — this process's clock starts at the process's start.
# The grace covers that start and a batch, so a training process that still runs ends its own
# job (naming the epochs it did); only one that stopped making progress is ended from here.
GRACE_S = 10.0


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
    try:
        HeldJob(settings, job_id, lease_id).time_out(
            run_seconds=run_seconds, epochs=spec.get("epochs", "?")
        )
    except LeaseLost:
        return False
    return True
