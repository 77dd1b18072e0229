"""The supervisor's decisions around the training process: second deliveries, busy owners,
crashed or handed-back training processes. Real databases; the training process itself is
exercised in test_training.py and test_worker_process.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest

from core.settings import Settings
from core.store import jobs, lifecycle
from core.store.db import session_scope
from core.store.tables import Job, JobStatus
from testkit.builders import Sent, claim, job_row, new_job, settings_env
from testkit.processes import wait_for
from worker import child, run_limit, supervisor
from worker.admission import Admission
from worker.training_process.order import ChildOrder


def _supervise(settings: Settings, job_id: uuid.UUID, sent: Sent) -> None:
    supervisor.supervise(job_id, settings=settings, worker="test/pid1", send=sent)


def test_supervise_drops_second_delivery_when_job_is_claimed(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    first = claim(settings.database_url, job_id)
    sent = Sent()
    _supervise(settings, job_id, sent)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.lease_id, job.attempts) == (JobStatus.running, first.lease_id, 1)
    assert sent.ids == []


def test_supervise_drops_delivery_when_job_was_cancelled(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        jobs.request_cancel(session=session, job=job)
    sent = Sent()
    _supervise(settings, job_id, sent)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.attempts, job.started_at) == (JobStatus.cancelled, 0, None)
    assert sent.ids == []


def test_supervise_leaves_job_queued_when_owner_is_at_running_cap(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_running_per_owner": 1})
    claim(settings.database_url, new_job(settings.database_url))
    waiting = new_job(settings.database_url)
    sent = Sent()
    _supervise(capped, waiting, sent)
    job = job_row(settings.database_url, waiting)
    assert (job.status, job.attempts) == (JobStatus.queued, 0)
    assert sent.ids == []  # an idle worker's reaper sends it again (test_reaper.py)


def test_settle_requeues_job_when_training_process_died_without_ending_it(
    settings: Settings,
) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    sent = Sent()
    supervisor.settle(job_id, held.lease_id, -signal.SIGKILL, settings=settings, send=sent)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.lease_id, job.enqueued_at) == (JobStatus.queued, None, None)
    assert sent.ids == [job_id]


def test_settle_fails_job_when_it_used_its_attempts(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    sent = Sent()
    for attempt in range(1, settings.max_attempts + 1):
        held = claim(settings.database_url, job_id)
        supervisor.settle(job_id, held.lease_id, -signal.SIGKILL, settings=settings, send=sent)
        assert job_row(settings.database_url, job_id).attempts == attempt
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.error_code) == (JobStatus.failed, "worker_lost")
    assert "SIGKILL" in (job.error_message or "")
    assert sent.ids == [job_id] * (settings.max_attempts - 1)


def test_settle_sends_job_again_when_training_process_handed_it_back(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    with session_scope(settings.database_url) as session:
        lifecycle.release_job(
            session=session, job_id=job_id, lease_id=held.lease_id, run_seconds=3.0
        )
    sent = Sent()
    supervisor.settle(job_id, held.lease_id, 0, settings=settings, send=sent)
    assert sent.ids == [job_id]
    assert job_row(settings.database_url, job_id).attempts == 0


def test_settle_leaves_job_when_training_process_ended_it(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    with session_scope(settings.database_url) as session:
        lifecycle.end_job(
            session=session, job_id=job_id, lease_id=held.lease_id, status=JobStatus.cancelled
        )
    sent = Sent()
    supervisor.settle(job_id, held.lease_id, 0, settings=settings, send=sent)
    assert job_row(settings.database_url, job_id).status == JobStatus.cancelled
    assert sent.ids == []


def test_settle_keeps_job_in_outbox_when_broker_is_down(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    supervisor.settle(job_id, held.lease_id, 1, settings=settings, send=Sent(fail=True))
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.enqueued_at) == (JobStatus.queued, None)


def test_settings_env_spells_out_settings_so_a_worker_reads_the_same(settings: Settings) -> None:
    env = settings_env(settings)  # the tests' worker processes get their settings this way
    code = (
        "import json; from core.settings import Settings; "
        "print(Settings(_env_file=None).model_dump_json())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert Settings.model_validate_json(out) == settings


def test_end_overdue_fails_held_job_with_timeout_naming_limit_and_epochs(
    settings: Settings,
) -> None:
    job_id = new_job(settings.database_url, epochs=5)
    held = claim(settings.database_url, job_id)
    limited = settings.model_copy(update={"job_timeout_s": 6.0})
    assert run_limit.end_overdue(job_id, held.lease_id, limited, run_seconds=16.5, spec=held.spec)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.error_code, job.lease_id) == (JobStatus.failed, "timeout", None)
    assert job.run_seconds == 16.5
    message = job.error_message or ""
    assert "6 s limit" in message and "0 of 5 epochs done" in message
    assert "stopped making progress" in message


def test_end_overdue_writes_nothing_when_job_ended_meanwhile(settings: Settings) -> None:
    job_id = new_job(settings.database_url)
    held = claim(settings.database_url, job_id)
    with session_scope(settings.database_url) as session:
        lifecycle.end_job(
            session=session, job_id=job_id, lease_id=held.lease_id, status=JobStatus.cancelled
        )
    assert not run_limit.end_overdue(
        job_id, held.lease_id, settings, run_seconds=1.0, spec=held.spec
    )
    assert job_row(settings.database_url, job_id).status == JobStatus.cancelled


def test_scratch_folder_made_for_init_from_jobs_only_and_removed_after(
    settings: Settings,
) -> None:
    plain = claim(settings.database_url, new_job(settings.database_url))
    with supervisor.scratch_folder(plain) as folder:
        assert folder is None
    tuned = claim(
        settings.database_url, new_job(settings.database_url, init_from=str(plain.job_id))
    )
    with supervisor.scratch_folder(tuned) as folder:
        assert folder is not None and folder.is_dir()
        (folder / "weights.pt").write_bytes(b"x")
    assert not folder.exists()


def test_child_order_carries_the_settings_whole_whatever_the_environment(
    settings: Settings,
) -> None:
    """The training process reads the order on its stdin, not settings from its environment."""
    order = ChildOrder(
        job_id=uuid.uuid4(),
        lease_id=uuid.uuid4(),
        parent_pid=1,
        settings=settings.model_copy(update={"max_attempts": 2, "job_timeout_s": 7.5}),
    )
    code = (
        "import sys; from worker.training_process.order import ChildOrder; "
        "print(ChildOrder.from_json(sys.stdin.read()).settings.model_dump_json())"
    )
    env = {**os.environ, "MAX_ATTEMPTS": "9", "JOB_TIMEOUT_S": "99", "DATABASE_URL": "sqlite://"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=order.to_json(),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Settings.model_validate_json(out) == order.settings


def test_a_job_waiting_for_device_memory_is_cancelled_without_starting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two jobs per GPU on 1 GiB: another job holds it all, so this one waits for memory.
    tight = settings.model_copy(update={"jobs_per_gpu": 2, "gpu_memory_bytes": 1 << 30})
    monkeypatch.setattr(supervisor, "_admission", Admission())
    budget = supervisor._admission.budget(tight)
    assert budget.admit(1 << 30, keep_waiting=lambda: True, what="other job", poll_s=0.05)
    try:
        job_id = new_job(settings.database_url)
        sent = Sent()
        waiting = threading.Thread(target=_supervise, args=(tight, job_id, sent))
        waiting.start()
        wait_for(
            lambda: job_row(settings.database_url, job_id).status == JobStatus.running,
            timeout=10,
            what="the claim",
        )
        with session_scope(settings.database_url) as session:
            job = session.get(Job, job_id)
            assert job is not None
            jobs.request_cancel(session=session, job=job)
        # Seen at the next renewal of the lease (HEARTBEAT_INTERVAL_S, 0.5 s here).
        waiting.join(timeout=10)
        assert not waiting.is_alive(), "the supervisor still waits for memory"
    finally:
        budget.release(1 << 30)
    job = job_row(settings.database_url, job_id)
    assert (job.status, job.lease_id, job.attempts) == (JobStatus.cancelled, None, 1)
    assert job.finished_at is not None and job.epochs_done == 0
    assert sent.ids == []
    assert not child._children  # no training process was started
