"""The store's side of early stopping in sweeps (issue 20): whether a child that has just
finished an epoch stops now, decided from its sweep's stored epoch records
(core.sweeps.early_stopping has the rules)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from core.store.sweeps import children_histories, sweep_children
from core.store.tables import Job, JobStatus, Sweep
from core.sweeps.early_stopping import EarlyStopping, Run, decide, grace_of

STATES = {
    JobStatus.succeeded: "complete",
    JobStatus.stopped: "stopped",
    JobStatus.failed: "failed",
    JobStatus.cancelled: "failed",
}


def early_stopping_of(sweep: Sweep) -> EarlyStopping | None:
    """The sweep's rule, from its stored request; None when it has none."""
    values = (sweep.request or {}).get("early_stopping")
    return EarlyStopping.from_request(values) if values else None


def validation_errors(records: list[Any]) -> dict[int, float]:
    """Validation error (a fraction) by epoch, of the records that have one."""
    return {
        r.epoch: 1 - r.validation_accuracy for r in records if r.validation_accuracy is not None
    }


def early_stop_check(
    *, session: Session, job_id: uuid.UUID, errors: dict[int, float]
) -> dict[str, Any] | None:
    """The decision to stop `job_id` now, as stored with it (rule, epoch, rung, reason); None to
    go on. `errors`: the job's own validation errors (%) by epoch that the caller holds, which
    its stored records may not show yet."""
    job = session.get(Job, job_id)
    if job is None or job.sweep_id is None or not errors:
        return None
    sweep = session.get(Sweep, job.sweep_id)
    config = early_stopping_of(sweep) if sweep is not None else None
    if config is None:
        return None
    children = sweep_children(session=session, sweep_id=job.sweep_id)
    histories = children_histories(session=session, job_ids=[child.id for child in children])
    others = [
        Run(
            str(child.id),
            validation_errors(histories[child.id]),
            state=STATES.get(child.status, "running"),
        )
        for child in children
        if child.id != job_id
    ]
    own = {**validation_errors(histories.get(job_id, [])), **errors}
    current = Run(str(job_id), own)
    decision = decide(
        config, current, others, grace=grace_of(config, job.spec), epochs=int(job.spec["epochs"])
    )
    return decision.as_dict() if decision is not None else None
