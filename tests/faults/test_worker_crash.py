"""A worker killed outright: the job resumes elsewhere from its checkpoint, or, when it kills every
worker it runs on, stops at the attempt limit."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from core.store.tables import JobStatus
from testkit.processes import wait_for
from testkit.procfs import pid_alive
from tests.e2e.conftest import check_trained_job
from tests.faults.conftest import (
    SPEC,
    Service,
    assert_same_weights,
    log_lines,
    training_children,
    worker_named,
)

pytestmark = pytest.mark.slow


def test_sigkill_mid_epoch_resumes_on_other_worker_to_same_weights(
    service: Service, cifar_dir: Path
) -> None:
    workers = service.workers("w1", "w2")
    # Two jobs of one spec and seed: one runs undisturbed (the reference), the other is killed.
    reference = service.submit()
    victim = service.submit()

    # A mid-epoch checkpoint of epoch 2: the child is inside an epoch, past a saved point.
    job = service.wait_job(
        victim,
        lambda job: (service.checkpoint_at(victim) or (0, 0)) >= (1, 1),
        timeout=120,
        what="a mid-epoch checkpoint in epoch 2",
    )
    holder = worker_named(workers, job)
    [child] = training_children(holder)
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(5) == -signal.SIGKILL
    # PR_SET_PDEATHSIG: the training process dies with its worker, it does not train on alone.
    wait_for(lambda: not pid_alive(child), timeout=5, what=f"training process {child} to die")

    done = service.wait_done(victim, timeout=180)
    assert done.status == JobStatus.succeeded, service.describe(victim)
    survivor = next(proc for proc in workers.values() if proc is not holder)
    assert done.worker is not None and done.worker.startswith(f"{survivor.name}@")
    assert done.attempts == 2  # the killed delivery and the one that finished
    assert service.epochs(victim) == list(range(1, SPEC["epochs"] + 1))
    with service.client() as http:  # one metrics record per epoch, weights that score as said
        check_trained_job(http, victim, http.get(f"/jobs/{victim}").json(), cifar_dir)
    resumed = log_lines(survivor, str(victim), "resuming after epoch")
    assert resumed, f"the job was not resumed from a checkpoint\n{survivor.output()}"
    assert "resuming after epoch 0, batch 0" not in resumed[0]

    assert service.wait_done(reference, timeout=60).status == JobStatus.succeeded
    assert_same_weights(service.weights(victim), service.weights(reference))


def test_training_process_killed_resumes_and_leaves_no_files(
    service: Service, workdir: Path
) -> None:
    """The kernel's OOM killer takes the training process (SIGKILL), not the worker: the job
    goes on from its checkpoint on the same worker, and the dead process's temporary files
    (TMPDIR, the worker's own here) do not pile up on the worker's disk."""
    scratch = workdir / "worker-tmp"
    scratch.mkdir()
    worker = service.worker("w1", TMPDIR=str(scratch))
    job_id = service.submit()
    service.wait_job(
        job_id,
        lambda job: (service.checkpoint_at(job_id) or (0, 0)) >= (1, 0),
        timeout=120,
        what="its first epoch",
    )
    [child] = training_children(worker)
    os.kill(child, signal.SIGKILL)

    done = service.wait_done(job_id, timeout=120)
    assert done.status == JobStatus.succeeded, service.describe(job_id)
    assert done.attempts == 2
    assert service.epochs(job_id) == list(range(1, SPEC["epochs"] + 1))
    assert log_lines(worker, str(job_id), "killed by SIGKILL")
    # torch's own cache folder (torchinductor_<user>) is shared by all processes and kept, and
    # so is onnxruntime's one session-id file (".ses", one fixed name, issue 11's export check).
    shared = ("torch", ".ses")
    left = sorted(path.name for path in scratch.iterdir() if not path.name.startswith(shared))
    assert not left, f"left in the worker's TMPDIR by killed training processes: {left}"


def test_job_killing_its_training_process_fails_at_attempt_limit(service: Service) -> None:
    """`ulimit -S -t 8` gives every process of the worker 8 s of CPU time; the kernel kills a
    training process past it with SIGXCPU, as it would with the OOM killer's SIGKILL. A job
    with many epochs needs more, so each attempt dies the same way."""
    # No spare process (issue 10): one would spend its own CPU-time allowance on importing torch
    # while idle, and this test counts the training processes the limit kills, one per attempt.
    worker = service.worker("w1", ulimit="-S -t 8", MAX_ATTEMPTS="2", WARM_START="false")
    job_id = service.submit(epochs=200)

    job = service.wait_done(job_id, timeout=120)
    assert job.status == JobStatus.failed, service.describe(job_id)
    assert job.error_code == "worker_lost"
    assert job.attempts == 2
    assert job.error_message is not None
    assert "2 times" in job.error_message and "SIGXCPU" in job.error_message
    assert len(log_lines(worker, str(job_id), "killed by SIGXCPU")) == 2
    # The crashes cost the job its attempts, not the worker.
    assert worker.alive()
    with service.client() as client:
        shown = client.get(f"/jobs/{job_id}").json()
    assert shown["status"] == "failed"
    assert "2 times" in str(shown)
