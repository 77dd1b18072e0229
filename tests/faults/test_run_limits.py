"""Jobs that cannot finish: past the run-time limit, or diverging."""

from __future__ import annotations

import pytest

from core.store.tables import JobStatus
from tests.faults.conftest import Service

pytestmark = pytest.mark.slow


def test_job_past_run_time_fails_with_timeout(service: Service) -> None:
    service.worker("w1", JOB_TIMEOUT_S="3")
    job_id = service.submit(epochs=200)

    job = service.wait_done(job_id, timeout=60)
    assert job.status == JobStatus.failed, service.describe(job_id)
    assert job.error_code == "timeout"
    assert job.error_message is not None and "3 s limit" in job.error_message
    assert job.run_seconds >= 3
    assert job.epochs_done < 200
    with service.client() as client:
        shown = client.get(f"/jobs/{job_id}").json()
    assert shown["status"] == "failed"
    assert "timeout" in str(shown)


def test_diverging_job_fails_with_diverged(service: Service) -> None:
    """ResNet-8 at learning rate 10 (the API's upper bound): the loss passes 1e4 in epoch 1."""
    service.worker("w1")
    job_id = service.submit(epochs=3, learning_rate=10.0)

    job = service.wait_done(job_id, timeout=60)
    assert job.status == JobStatus.failed, service.describe(job_id)
    assert job.error_code == "diverged"
    assert job.error_message is not None and "learning_rate" in job.error_message
    assert job.attempts == 1  # a failure the job owns is not retried
