"""Jobs that cannot finish: past the run-time limit, or diverging."""

from __future__ import annotations

import os
import signal

import pytest

from core.store.tables import JobStatus
from testkit.processes import wait_for
from testkit.procfs import pid_alive
from tests.faults.conftest import Service, training_children

pytestmark = pytest.mark.slow

HUNG_TIMEOUT_S = 6  # the run-time limit of the hung job's worker


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


def test_hung_training_process_fails_at_run_time_limit(service: Service) -> None:
    """A training process that stops making progress (SIGSTOP here; a deadlock, a stuck file
    read or a GPU driver hang in life) can check no deadline itself: the job must still end
    at its run-time limit, and the worker must be free again."""
    worker = service.worker("w1", JOB_TIMEOUT_S=str(HUNG_TIMEOUT_S))
    job_id = service.submit(epochs=200)
    service.wait_job(
        job_id,
        lambda job: service.checkpoint_at(job_id) is not None,
        timeout=120,
        what="training (a first checkpoint)",
    )
    [child] = training_children(worker)
    os.kill(child, signal.SIGSTOP)
    try:
        job = service.wait_done(job_id, timeout=HUNG_TIMEOUT_S + 30)
        assert job.status == JobStatus.failed, service.describe(job_id)
        assert job.error_code == "timeout"
        wait_for(lambda: not pid_alive(child), timeout=10, what="the hung process to be ended")
        assert worker.alive()
    finally:
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)


def test_diverging_job_fails_with_diverged(service: Service) -> None:
    """ResNet-8 at learning rate 10 (the API's upper bound): the loss passes 1e4 in epoch 1."""
    service.worker("w1")
    job_id = service.submit(epochs=3, learning_rate=10.0)

    job = service.wait_done(job_id, timeout=60)
    assert job.status == JobStatus.failed, service.describe(job_id)
    assert job.error_code == "diverged"
    assert job.error_message is not None and "learning_rate" in job.error_message
    assert job.attempts == 1  # a failure the job owns is not retried
