"""SIGTERM to a busy worker (a deploy, a scale-down): checkpoint, hand back, exit cleanly."""

from __future__ import annotations

import re
import signal

import pytest

from core.store.tables import JobStatus
from tests.faults.conftest import SPEC, Service, log_lines, worker_named

pytestmark = pytest.mark.slow


def test_sigterm_mid_training_hands_job_to_other_worker(service: Service) -> None:
    workers = service.workers("w1", "w2")
    job_id = service.submit()
    job = service.wait_job(
        job_id,
        lambda job: (service.checkpoint_at(job_id) or (0, 0)) >= (1, 1),
        timeout=120,
        what="a mid-epoch checkpoint in epoch 2",
    )
    holder = worker_named(workers, job)
    survivor = next(proc for proc in workers.values() if proc is not holder)

    holder.send_signal(signal.SIGTERM)
    assert holder.wait(30) == 0, holder.output()
    [stop] = log_lines(holder, "stop requested: epoch")
    [handed] = log_lines(holder, str(job_id), "handed back to the queue")
    stopped_at = re.search(r"epoch (\d+), batch (\d+)", stop)
    assert stopped_at is not None
    epoch, batch = int(stopped_at[1]), int(stopped_at[2])

    done = service.wait_done(job_id, timeout=120)
    assert done.status == JobStatus.succeeded, service.describe(job_id)
    assert done.worker is not None and done.worker.startswith(f"{survivor.name}@")
    assert done.attempts == 1  # a hand-back is not a failed attempt
    assert service.epochs(job_id) == list(range(1, SPEC["epochs"] + 1))
    # The other worker went on from the very batch at which the first one stopped.
    [resumed] = log_lines(survivor, str(job_id), "resuming after epoch")
    assert f"resuming after epoch {epoch - 1}, batch {batch}" in resumed, (stop, resumed, handed)
