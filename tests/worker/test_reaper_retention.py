"""The reaper applies the retention period to failed and cancelled jobs, and only when it is set."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core.settings import Settings
from core.store.db import session_scope
from core.store.tables import Checkpoint, Job, JobStatus
from core.store.types import utcnow
from testkit.builders import Sent, job_row, new_job
from worker.reaper import reap_once


def _failed_days_ago(settings: Settings, days: float) -> Job:
    job_id = new_job(settings.database_url)
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.failed, finished_at=utcnow() - timedelta(days=days))
        )
        # Bytes a job kept from before checkpoints were dropped at the end.
        session.add(Checkpoint(job_id=job_id, epoch=1, batch=0, data=b"old", size=3))
        session.commit()
    return job_row(settings.database_url, job_id)


def test_reap_once_deletes_data_of_jobs_failed_before_the_retention_period(
    settings: Settings,
) -> None:
    old, recent = _failed_days_ago(settings, 8), _failed_days_ago(settings, 6)
    report = reap_once(settings.model_copy(update={"failed_job_retention_days": 7}), Sent())
    assert report.purged == [old.id]
    assert job_row(settings.database_url, old.id).deleted_reason == "retention"
    assert job_row(settings.database_url, recent.id).deleted_at is None
    with session_scope(settings.database_url) as session:
        assert session.get(Checkpoint, old.id) is None
        assert session.get(Checkpoint, recent.id) is not None


def test_reap_once_keeps_everything_without_a_retention_period(settings: Settings) -> None:
    job = _failed_days_ago(settings, 10_000)
    assert settings.failed_job_retention_days == 0  # the default: off
    assert reap_once(settings, Sent()).purged == []
    assert job_row(settings.database_url, job.id).deleted_at is None
