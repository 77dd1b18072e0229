"""A worker killed outright and restarted at once under the same node name, as a process
supervisor or Docker's restart policy would: it takes its job back without waiting for the
lease to run out ("super fetch"), and the job resumes from its checkpoint."""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime

import pytest

from core.store.tables import JobStatus
from testkit.processes import wait_for
from testkit.procfs import pid_alive
from tests.faults.conftest import Service, log_lines, training_children

pytestmark = pytest.mark.slow

log = logging.getLogger(__name__)

# A lease far longer than the test may wait: only the restarted worker can explain a quick resume.
LONG_LEASE = {"LEASE_TIMEOUT_S": "300"}
# The goal of issue 7 on a quiet machine is 15 s; the bound here leaves room for a machine
# shared with other test runs, and is still far below the lease.
RESUME_WITHIN_S = 60.0


def test_worker_restarted_under_same_name_takes_back_its_job_at_once(service: Service) -> None:
    worker = service.worker("w1", **LONG_LEASE)
    job_id = service.submit(epochs=4)
    service.wait_job(
        job_id,
        lambda job: (service.checkpoint_at(job_id) or (0, 0)) >= (1, 1),
        timeout=120,
        what="a mid-epoch checkpoint in epoch 2",
    )
    [child] = training_children(worker)

    worker.send_signal(signal.SIGKILL)
    killed_at, killed_wall = time.monotonic(), time.time()
    assert worker.wait(5) == -signal.SIGKILL
    wait_for(lambda: not pid_alive(child), timeout=5, what=f"training process {child} to die")
    saved = service.checkpoint_at(job_id)
    assert saved is not None
    offset = worker.log.stat().st_size  # the new worker appends to the same log

    restarted = service.worker("w1", api=False, **LONG_LEASE)
    # The first step of the resumed run: the first checkpoint it saves (every 0.5 s here, so
    # this is after its first batch, plus at most one more).
    service.wait_job(
        job_id,
        lambda job: job.attempts == 2 and service.checkpoint_at(job_id) not in (None, saved),
        timeout=RESUME_WITHIN_S,
        what="its first step on the restarted worker",
    )
    resumed_after = time.monotonic() - killed_at
    log.warning(
        "SIGKILL to the resumed first step: %.1f s (checkpoint %s at the kill)",
        resumed_after,
        saved,
    )
    assert resumed_after < RESUME_WITHIN_S

    done = service.wait_done(job_id, timeout=180)
    assert done.status == JobStatus.succeeded, service.describe(job_id)
    assert done.attempts == 2  # the killed delivery and the one that finished
    assert service.epochs(job_id) == list(range(1, 4 + 1))
    new_lines = restarted.log.read_text(errors="replace")[offset:]
    assert f"job {job_id}: its worker w1@" in new_lines, restarted.output()
    assert "died and was restarted" in new_lines
    resumed = [line for line in new_lines.splitlines() if "resuming after epoch" in line]
    assert resumed and "resuming after epoch 0, batch 0" not in resumed[0]
    assert log_lines(restarted, "took back 1 job")
    steps = {
        "job sent again": f"job {job_id} sent to queue",
        "training process started": "training process",
        "checkpoint loaded": "resuming after epoch",
    }
    log.warning(
        "after the SIGKILL: %s",
        ", ".join(
            f"{what} {_logged_at(new_lines, needle) - killed_wall:.1f} s"
            for what, needle in steps.items()
        ),
    )


def _logged_at(text: str, needle: str) -> float:
    """When the first log line holding `needle` was written (`[2026-11-23 19:04:56,481: ...`)."""
    line = next(line for line in text.splitlines() if needle in line and line.startswith("[20"))
    return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def test_second_live_worker_with_same_name_takes_nothing(service: Service) -> None:
    """Two live workers under one node name (a mistake Celery only warns about): the second
    cannot take the first's lock, so it leaves the first one's running job alone."""
    first = service.worker("w1", **LONG_LEASE)
    job_id = service.submit(epochs=4)
    job = service.wait_job(
        job_id, lambda job: job.status == JobStatus.running, timeout=120, what="to run"
    )
    offset = first.log.stat().st_size
    # Its log is the first one's file: read what it appends.
    second = service.worker("w1", api=False, **LONG_LEASE)
    wait_for(
        lambda: (
            "another live worker on this machine is named w1@"
            in second.log.read_text(errors="replace")[offset:]
        ),
        timeout=60,
        what="the second worker to find the name taken",
        diagnose=second.output,
    )
    assert second.alive()
    assert service.job(job_id).lease_id == job.lease_id
    done = service.wait_done(job_id, timeout=180)
    assert done.status == JobStatus.succeeded, service.describe(job_id)
    assert done.attempts == 1
