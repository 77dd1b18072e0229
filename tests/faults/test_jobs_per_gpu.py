"""Several jobs per worker (JOBS_PER_GPU=2, issue 13), each in its own training process: they
run at once, and a worker killed or stopped under both, or a cancel of one, treats each job as
it treats a worker's only job. Memory admission holds a job back that does not fit."""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from core.store.tables import Job, JobStatus
from testkit.processes import Proc, wait_for
from testkit.procfs import pid_alive
from tests.faults.conftest import (
    SPEC,
    Service,
    assert_same_weights,
    log_lines,
    training_children,
)

pytestmark = pytest.mark.slow

TWO = {"JOBS_PER_GPU": "2"}


def _both_training(service: Service, jobs: list[uuid.UUID], worker: Proc) -> list[int]:
    """Wait until every job has a checkpoint and the worker two training processes; their pids."""
    for job_id in jobs:
        service.wait_job(
            job_id,
            lambda job, job_id=job_id: service.checkpoint_at(job_id) is not None,
            timeout=120,
            what=f"job {job_id} to train (a first checkpoint)",
        )
    return wait_for(
        lambda: ((found := training_children(worker)) and len(found) == 2 and found) or None,
        timeout=30,
        what="two training processes under one worker",
        diagnose=worker.output,
    )


def _succeeded(
    service: Service, job_id: uuid.UUID, *, attempts: int, epochs: int = SPEC["epochs"]
) -> Job:
    done = service.wait_done(job_id, timeout=240)
    assert done.status == JobStatus.succeeded, service.describe(job_id)
    assert done.attempts == attempts, service.describe(job_id)
    assert service.epochs(job_id) == list(range(1, epochs + 1))
    return done


def test_two_jobs_at_once_survive_a_killed_worker_to_the_same_weights(service: Service) -> None:
    first = service.worker("w1", **TWO)
    jobs = [service.submit(epochs=4), service.submit(epochs=4)]
    children = _both_training(service, jobs, first)
    # At once, not one after the other: both are running in the database too.
    assert all(service.job(job_id).status == JobStatus.running for job_id in jobs)

    first.send_signal(signal.SIGKILL)
    assert first.wait(5) == -signal.SIGKILL
    for child in children:  # each dies with the worker (PR_SET_PDEATHSIG of the spawner thread)
        wait_for(lambda child=child: not pid_alive(child), timeout=5, what=f"{child} to die")

    second = service.worker("w2", **TWO)
    for job_id in jobs:
        done = _succeeded(service, job_id, attempts=2, epochs=4)
        assert done.worker is not None and done.worker.startswith("w2@")
    assert (
        len(log_lines(second, "worker.training_process.training", "resuming after epoch")) == 2
    ), second.output()
    # Same spec and seed, trained side by side and resumed: nothing leaked between the two.
    assert_same_weights(service.weights(jobs[0]), service.weights(jobs[1]))


def test_cancel_one_and_sigterm_hands_the_other_back(service: Service) -> None:
    first = service.worker("w1", **TWO)
    cancelled, handed = service.submit(epochs=100), service.submit()
    _both_training(service, [cancelled, handed], first)

    with service.client() as client:
        answer = client.post(f"/jobs/{cancelled}/cancel")
        assert answer.status_code == 202, answer.text
    job = service.wait_job(
        cancelled, lambda job: job.status != JobStatus.running, timeout=15, what="the cancel"
    )
    assert job.status == JobStatus.cancelled, service.describe(cancelled)
    assert service.job(handed).status == JobStatus.running  # the other trains on

    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0, first.output()
    assert log_lines(first, str(handed), "handed back"), first.output()
    assert service.job(handed).status == JobStatus.queued

    second = service.worker("w2", **TWO)
    _succeeded(service, handed, attempts=1)  # a hand-back is not a failed attempt
    [resumed] = log_lines(
        second, "worker.training_process.training", str(handed), "resuming after epoch"
    )
    assert "resuming after epoch 0, batch 0" not in resumed  # from where the first one stopped


def test_job_that_does_not_fit_waits_for_memory(service: Service) -> None:
    # Room for one ResNet-8 job (about 0.8 GiB with the per-process allowance), not two.
    worker = service.worker("w1", GPU_MEMORY_BYTES=str(1200 << 20), **TWO)
    jobs = [service.submit(), service.submit()]
    most = 0
    deadline = time.monotonic() + 240
    while not all(service.job(job_id).status == JobStatus.succeeded for job_id in jobs):
        assert time.monotonic() < deadline, [service.describe(job_id) for job_id in jobs]
        most = max(most, len(training_children(worker)))
        time.sleep(0.1)
    assert most == 1, "two jobs trained at once in memory for one"
    assert log_lines(worker, "waiting for device memory"), worker.output()
    assert log_lines(worker, "admitted"), worker.output()
