"""At-least-once delivery: a job whose message arrives twice still runs once."""

from __future__ import annotations

import pytest

from core.store.tables import JobStatus
from testkit.processes import wait_for
from tests.faults.conftest import Service, log_lines, send_message

pytestmark = pytest.mark.slow


def test_same_job_delivered_twice_runs_once(service: Service) -> None:
    """Two workers, and two more messages for one job (a redelivery after a visibility timeout
    or a reaper's send racing the API's): one claim wins, every other delivery is dropped."""
    workers = service.workers("w1", "w2")
    job_id = service.submit(epochs=2)
    send_message(service.env["BROKER_URL"], job_id)  # both workers now hold a message for it

    job = service.wait_done(job_id, timeout=120)
    send_message(service.env["BROKER_URL"], job_id)  # and one after it finished

    def dropped() -> list[str]:
        return [
            line for proc in workers.values() for line in log_lines(proc, str(job_id), "not queued")
        ]

    wait_for(lambda: len(dropped()) == 2, timeout=30, what="both extra messages to be dropped")
    claims = [
        line for proc in workers.values() for line in log_lines(proc, str(job_id), "claimed by")
    ]
    assert len(claims) == 1, claims
    assert job.status == JobStatus.succeeded, service.describe(job_id)
    assert job.attempts == 1
    assert service.epochs(job_id) == [1, 2]
    assert service.job(job_id).status == JobStatus.succeeded
