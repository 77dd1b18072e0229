"""Cancelling: a queued job never runs, a running one stops within seconds."""

from __future__ import annotations

import logging
import time

import pytest

from core.store.tables import JobStatus
from testkit.processes import wait_for
from tests.faults.conftest import Service, log_lines, training_children

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

STOP_WITHIN_S = 10.0  # measured here: about 1 s (a heartbeat, a batch, a checkpoint)


def test_cancel_queued_and_running_jobs(service: Service) -> None:
    worker = service.worker("w1")
    running = service.submit(epochs=100)
    queued = service.submit(epochs=1)
    service.wait_job(
        running,
        lambda job: service.checkpoint_at(running) is not None,
        timeout=120,
        what="training (a first checkpoint)",
    )
    assert service.job(queued).status == JobStatus.queued

    with service.client() as client:
        answer = client.post(f"/jobs/{queued}/cancel")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "cancelled"

        answer = client.post(f"/jobs/{running}/cancel")
        asked = time.monotonic()
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "running"

    job = service.wait_job(
        running,
        lambda job: job.status != JobStatus.running,
        timeout=STOP_WITHIN_S,
        what=f"the running job to stop within {STOP_WITHIN_S:g} s",
    )
    stopped_after = time.monotonic() - asked
    log.info("running job cancelled %.1f s after the request", stopped_after)
    assert job.status == JobStatus.cancelled, service.describe(running)
    assert job.epochs_done < 100
    wait_for(
        lambda: not training_children(worker),
        timeout=STOP_WITHIN_S - stopped_after + 2,
        what="the training process to exit",
    )

    # The queued job's message reaches the worker, which drops it: the job never ran.
    wait_for(
        lambda: log_lines(worker, str(queued), "not queued"),
        timeout=30,
        what="the cancelled job's message to be dropped",
    )
    never = service.job(queued)
    assert never.status == JobStatus.cancelled
    assert never.attempts == 0 and never.started_at is None
    assert service.epochs(queued) == []
