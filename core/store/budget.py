"""The optional per-owner compute budget (issue 10): the training FLOPs that one owner's queued
and running jobs still hold, against COMPUTE_BUDGET_FLOPS. A running job counts the epochs it
has left; a finished one nothing. Checked under the owner's row lock of
`submission_checks.admit`, so two submissions at once cannot both squeeze under it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.estimate import training_work
from core.store.errors import ComputeBudgetExceeded
from core.store.tables import Job, JobStatus


def compute_in_use(*, session: Session, owner_id: uuid.UUID) -> tuple[float, int]:
    """(training FLOPs still held, jobs holding them) of the owner's queued and running jobs."""
    rows = session.execute(
        select(Job.spec, Job.epochs_done).where(
            Job.owner_id == owner_id, Job.status.in_((JobStatus.queued, JobStatus.running))
        )
    ).all()
    used = sum(training_work(spec, spec["epochs"] - done) for spec, done in rows)
    return used, len(rows)


def check_compute_budget(
    *, session: Session, owner_id: uuid.UUID, adding: list[dict[str, Any]], budget: float
) -> None:
    """Refuse the jobs of these specs when they would take the owner past `budget` (0: none)."""
    if budget <= 0:
        return
    used, jobs = compute_in_use(session=session, owner_id=owner_id)
    work = sum(training_work(spec) for spec in adding)
    if used + work <= budget:
        return
    session.rollback()
    raise ComputeBudgetExceeded(
        f"compute budget: your {jobs} queued and running jobs hold {used:.3g} training FLOPs "
        f"(epochs left x training images x FLOPs per image), this submission adds "
        f"{work:.3g}, and the budget is {budget:.3g}; wait for jobs to finish, or cancel some",
        used_flops=used,
        budget_flops=budget,
    )
