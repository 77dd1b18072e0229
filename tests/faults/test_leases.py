"""Leases and the reaper: a live job keeps its lease however short, a job nobody sent is sent."""

from __future__ import annotations

import pytest

from core.store import jobs, keys
from core.store.db import session_scope
from core.store.tables import JobStatus
from tests.faults.conftest import SPEC, Service, log_lines

pytestmark = pytest.mark.slow


def test_short_lease_survives_training_process_start(service: Service) -> None:
    """A 3 s lease with 0.5 s heartbeats: a healthy job must never look lost, also while its
    training process starts (python, torch import, dataset: about 5 s here) and has not yet
    sent its first heartbeat."""
    worker = service.worker("w1", LEASE_TIMEOUT_S="3", MAX_ATTEMPTS="3")
    job_id = service.submit(epochs=1)

    job = service.wait_done(job_id, timeout=120)
    reaped = log_lines(worker, str(job_id), "no heartbeat for")
    assert not reaped, "a healthy job was reaped:\n" + "\n".join(reaped)
    assert job.status == JobStatus.succeeded, service.describe(job_id)
    assert job.attempts == 1


def test_job_committed_but_never_sent_is_sent_by_reaper(service: Service) -> None:
    """The API committed the job and died before sending it (the outbox): a worker's reaper
    sends it, and it runs."""
    worker = service.worker("w1", api=False)
    with session_scope(service.database_url) as session:
        owner = keys.get_or_create_owner(session=session, name="fault-tester")
        session.commit()
        job, _ = jobs.create_job(
            session=session, owner_id=owner.id, spec={**_resolved(), "epochs": 1}, max_queued=10
        )
        job_id = job.id
    assert service.job(job_id).enqueued_at is None

    done = service.wait_done(job_id, timeout=90)
    assert done.status == JobStatus.succeeded, service.describe(job_id)
    assert done.enqueued_at is not None
    assert log_lines(worker, str(job_id), "queued without a message; sent")


def _resolved() -> dict[str, object]:
    """SPEC with the API's defaults filled in, as the API stores it."""
    from api.schemas.request import JobRequest

    return JobRequest.model_validate(SPEC).resolve()
