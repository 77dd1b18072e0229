"""The training process as the supervisor starts it:
`python -m worker.training_process.train_child JOB < order`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.settings import Settings
from core.store.tables import JobStatus
from testkit.builders import Sent, claim, job_row, new_job
from testkit.processes import wait_for
from testkit.procfs import children, cmdline, pid_alive
from worker import supervisor
from worker.training_process.order import ChildOrder

WORKER_MAIN_MODULES = (
    "worker.app",
    "worker.tasks",
    "worker.signals",
    "worker.supervisor",
    "worker.reaper",
    "worker.dispatch",
    "worker.store_calls",
    "worker.run_limit",
    "worker.recovery",
    "worker.child",
    "worker.held_job",
    "worker.after_commit",
    "worker.webhook_delivery",
    "worker.training_process.order",
)


def test_worker_main_process_modules_import_no_torch(tmp_path: Path) -> None:
    code = (
        f"import sys; import {', '.join(WORKER_MAIN_MODULES)}; "
        "loaded = [m for m in ('torch', 'torchvision', 'numpy') if m in sys.modules]; "
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    env = {**os.environ, "BROKER_URL": "memory://", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_train_child_refuses_to_train_when_its_worker_is_gone(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    not_the_parent = os.getppid()
    order = ChildOrder(
        job_id=job_id, lease_id=held.lease_id, parent_pid=not_the_parent, settings=settings
    )
    done = subprocess.run(
        [sys.executable, "-m", "worker.training_process.train_child", str(job_id)],
        input=order.to_json(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "is gone" in done.stderr
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.lease_id, job.epochs_done) == (JobStatus.running, held.lease_id, 0)


def _training_child() -> int | None:
    found = [
        pid
        for pid in children(os.getpid())
        if "worker.training_process.train_child" in cmdline(pid)
    ]
    return found[0] if found else None


# One backend: the process handling is the same, and PostgreSQL runs it in tests/e2e.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_supervise_requeues_job_when_training_process_is_killed(settings: Settings) -> None:
    job_id = new_job(settings.database_url, epochs=50)
    killed: list[int] = []

    def kill_after_first_epoch() -> None:
        wait_for(
            lambda: job_row(settings.database_url, job_id).epochs_done >= 1,
            timeout=60,
            what="the first epoch",
        )
        pid = _training_child()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        killed.append(pid)

    killer = threading.Thread(target=kill_after_first_epoch, daemon=True)
    killer.start()
    sent = Sent()
    supervisor.supervise(job_id, settings=settings, worker="test/pid1", send=sent)
    killer.join(5)
    assert killed and not pid_alive(killed[0])
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.attempts, job.lease_id, job.epochs_done) == (
        JobStatus.queued,
        1,
        None,
        1,  # its checkpoint stays, so the next attempt resumes from there
    )
    assert sent.ids == [job_id]
