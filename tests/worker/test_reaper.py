"""The reaper: jobs of dead workers go back to the queue (or fail), unsent jobs get sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from core.settings import Settings
from core.store.db import session_scope
from core.store.jobs import mark_enqueued
from core.store.tables import Job, JobStatus
from core.store.types import utcnow
from testkit.builders import Sent, claim, job_row, new_job
from worker.reaper import RESEND_AFTER_S, reap_once


def _age(database_url: str, job_id: uuid.UUID, **seconds_ago: float) -> None:
    """Move the job's timestamps into the past, as if time had passed."""
    values = {name: utcnow() - timedelta(seconds=ago) for name, ago in seconds_ago.items()}
    with session_scope(database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def _silent_job(settings: Settings) -> uuid.UUID:
    """A running job whose worker stopped renewing its lease."""
    job_id = new_job(settings.database_url)
    claim(settings.database_url, job_id)
    _age(settings.database_url, job_id, heartbeat_at=settings.lease_timeout_s + 1)
    return job_id


def test_reap_once_requeues_and_sends_job_with_stale_heartbeat(settings: Settings) -> None:
    job_id = _silent_job(settings)
    sent = Sent()
    report = reap_once(settings, sent, outbox_delay_s=0)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.lease_id, job.worker) == (JobStatus.queued, None, None)
    assert report.requeued == [job_id]
    assert sent.ids == [job_id]


def test_reap_once_fails_stale_job_at_attempt_limit(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_attempts": 1})
    job_id = _silent_job(settings)
    sent = Sent()
    report = reap_once(limited, sent)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.error_code) == (JobStatus.failed, "worker_lost")
    assert "no heartbeat" in (job.error_message or "")
    assert report.failed == [job_id]
    assert sent.ids == []


def test_reap_once_cancels_stale_job_whose_cancel_was_requested(settings: Settings) -> None:
    job_id = _silent_job(settings)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    report = reap_once(settings, Sent())
    assert job_row(settings.database_url, job_id).status == JobStatus.cancelled
    assert report.cancelled == [job_id]


def test_reap_once_leaves_job_with_fresh_heartbeat(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    sent = Sent()
    reap_once(settings, sent, outbox_delay_s=0)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.lease_id) == (JobStatus.running, held.lease_id)
    assert sent.ids == []


def test_reap_once_sends_queued_job_that_no_message_carries(settings: Settings) -> None:
    unsent = new_job(settings.database_url)
    _age(settings.database_url, unsent, created_at=30)
    enqueued = new_job(settings.database_url)
    _age(settings.database_url, enqueued, created_at=30)
    with session_scope(settings.database_url) as session:
        mark_enqueued(session=session, job_id=enqueued)
    sent = Sent()
    report = reap_once(settings, sent)
    assert sent.ids == [unsent]
    assert report.sent == [unsent]


def test_reap_once_gives_api_time_to_send_new_job(settings: Settings) -> None:
    new_job(settings.database_url)
    sent = Sent()
    reap_once(settings, sent)
    assert sent.ids == []


def test_reap_once_keeps_job_in_outbox_when_broker_is_down(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    report = reap_once(settings, Sent(fail=True), outbox_delay_s=0)
    assert report.sent == []
    sent = Sent()
    reap_once(settings, sent, outbox_delay_s=0)
    assert sent.ids == [job_id]


def _sent_long_ago(settings: Settings) -> uuid.UUID:
    """A queued job whose message went out before the worker's wait began."""
    job_id = new_job(settings.database_url)
    with session_scope(settings.database_url) as session:
        mark_enqueued(session=session, job_id=job_id)
    _age(settings.database_url, job_id, created_at=60, enqueued_at=RESEND_AFTER_S + 1)
    return job_id


def test_reap_once_resends_job_whose_message_never_reached_idle_worker(
    settings: Settings,
) -> None:
    job_id = _sent_long_ago(settings)
    sent = Sent()
    report = reap_once(settings, sent, idle_for_s=RESEND_AFTER_S + 1)
    assert sent.ids == report.resent == [job_id]


def test_reap_once_leaves_sent_job_while_worker_is_busy_or_newly_idle(settings: Settings) -> None:
    _sent_long_ago(settings)
    sent = Sent()
    reap_once(settings, sent, idle_for_s=0.0)  # busy: the message may be waiting in the queue
    reap_once(settings, sent, idle_for_s=RESEND_AFTER_S / 2)
    assert sent.ids == []


def test_reap_once_leaves_recently_sent_job(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    with session_scope(settings.database_url) as session:
        mark_enqueued(session=session, job_id=job_id)
    sent = Sent()
    reap_once(settings, sent, idle_for_s=RESEND_AFTER_S + 1)
    assert sent.ids == []
