"""The latest progress of running jobs on the embedded set-up: one row per job, updated in place
(a training process reports at most twice a second). With Redis, progress lives there instead
(`core.messaging.event_channel`) and this table stays empty."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import JobProgress
from core.store.types import utcnow


def put_progress(*, session: Session, job_id: uuid.UUID, data: dict[str, Any]) -> None:
    session.merge(JobProgress(job_id=job_id, data=data, updated_at=utcnow()))
    session.commit()


def get_progress(*, session: Session, job_id: uuid.UUID) -> tuple[dict[str, Any], datetime] | None:
    row = session.execute(
        select(JobProgress.data, JobProgress.updated_at).where(JobProgress.job_id == job_id)
    ).first()
    return None if row is None else (dict(row[0]), row[1])


def progress_since(
    *, session: Session, after: datetime
) -> list[tuple[uuid.UUID, dict[str, Any], datetime]]:
    """Progress rows updated after `after` (the API's shared poller)."""
    rows = session.execute(
        select(JobProgress.job_id, JobProgress.data, JobProgress.updated_at).where(
            JobProgress.updated_at > after
        )
    )
    return [(row[0], dict(row[1]), row[2]) for row in rows]
