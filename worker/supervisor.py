"""The worker's side of one job: claim it, train it in a fresh child process, settle the end.

This runs in the worker's main process, which never imports torch or touches a GPU: the training
runs in `python -m worker.train_child`, so its memory (GPU memory included) goes back to the
system when it exits, and a crash or an out-of-memory kill costs the job an attempt, not the
worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.settings import Settings, get_settings
from core.store.db import get_sessionmaker
from core.store.lifecycle import (
    Claim,
    ClaimRefused,
    LeaseLost,
    abandon_job,
    claim_job,
    heartbeat,
    release_job,
)
from core.store.tables import Job, JobStatus
from worker import run_limit
from worker.db import store_call

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the wait for the child looks at the shutdown deadline
# Seconds from SIGTERM to SIGKILL for a training process past its run-time limit: its job is
# already ended, so it has nothing to save; a responsive one exits at its next batch.
OVERDUE_KILL_AFTER_S = 5.0


Sender = Callable[[uuid.UUID], None]


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    kill_at: float | None = None  # monotonic time of the SIGKILL once a SIGTERM was forwarded
    announced: bool = False


# The training process being waited for; set and read only by the main thread (signal
# handlers run there too).
_current: _Child | None = None
# Set by the worker's shutdown: a job claimed from now on is handed straight back.
_shutting_down = threading.Event()
# Since when this worker has had no job (monotonic seconds; None while it has one). The reaper
# reads it: a queued job that an idle worker has not received has no message that reaches one.
_idle_since: float | None = time.monotonic()


def mark_idle() -> None:
    """The worker consumes from the broker from now on (called when it is ready)."""
    global _idle_since
    _idle_since = time.monotonic()


def idle_for() -> float:
    """Seconds this worker has been waiting for a job; 0 while it has one."""
    since = _idle_since
    return 0.0 if since is None else time.monotonic() - since


def run(job_id: str, *, hostname: str) -> None:
    """The task's body: supervise one job with this worker's settings and the real broker."""
    global _idle_since
    # Imported here: it builds the Celery app from the settings, which the plain functions
    # below (and their tests) do not need.
    from worker import dispatch

    settings = get_settings()
    _idle_since = None
    try:
        supervise(
            uuid.UUID(job_id),
            settings=settings,
            worker=f"{hostname}/pid{os.getpid()}",
            send=partial(dispatch.send, settings=settings),
        )
    finally:
        _idle_since = time.monotonic()


def supervise(job_id: uuid.UUID, *, settings: Settings, worker: str, send: Sender) -> None:
    """Claim the job, run its training process to the end and settle what the process left."""
    claim = store_call(
        settings,
        lambda session: claim_job(
            session=session,
            job_id=job_id,
            worker=worker,
            max_running_per_owner=settings.max_running_per_owner,
        ),
        what=f"claim job {job_id}",
    )
    if claim is ClaimRefused.not_queued:
        # A second delivery, or a job cancelled or finished meanwhile: nothing to do.
        log.info("job %s: not queued (claimed, finished or cancelled); message dropped", job_id)
        return
    if claim is ClaimRefused.owner_busy:
        # No message held back for later (a countdown): an idle worker's reaper sends the job
        # again once it has waited a while (worker.reaper.RESEND_AFTER_S).
        log.info("job %s: its owner runs as many jobs as allowed; left queued", job_id)
        return
    assert isinstance(claim, Claim)
    log.info(
        "job %s: claimed by %s (attempt %d, lease %s)",
        job_id,
        worker,
        claim.attempt,
        claim.lease_id,
    )
    if _shutting_down.is_set():
        _hand_back_unstarted(job_id, claim, settings, send)
        return
    with scratch_folder(claim) as scratch:
        code = run_child(claim, settings, scratch=scratch)
    settle(job_id, claim.lease_id, code, settings=settings, send=send)


@contextmanager
def scratch_folder(claim: Claim) -> Iterator[Path | None]:
    """A folder for the training process's files (the `init_from` weights), removed here once
    it has exited: a training process killed outright cleans up nothing itself."""
    if claim.spec.get("init_from") is None and claim.init_from_id is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix=f"crs-job-{claim.job_id}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_child(claim: Claim, settings: Settings, *, scratch: Path | None = None) -> int:
    """Start `python -m worker.train_child` and wait for it; returns its exit code.

    Past the job's run-time limit (and a grace) the job is ended `timeout` from here and the
    training process stopped: one that hangs checks no deadline itself.
    """
    global _current
    job_id, lease_id = claim.job_id, claim.lease_id
    command = [
        sys.executable,
        "-m",
        "worker.train_child",
        str(job_id),
        str(lease_id),
        "--parent-pid",
        str(os.getpid()),
    ]
    if scratch is not None:
        command += ["--scratch", str(scratch)]
    # The child makes the kernel kill it when this process dies (PR_SET_PDEATHSIG), itself,
    # first thing: a preexec_fn would do it between fork and exec, which is unsafe while the
    # reaper thread runs. It stays in this process group, so a signal to the group reaches it.
    process = subprocess.Popen(command, env=child_env(settings), start_new_session=False)
    child = _Child(process)
    _current = child
    log.info("job %s: training process %d started", job_id, process.pid)
    started = time.monotonic()
    deadline = started + run_limit.seconds_left(settings, claim.run_seconds)
    renewing, next_renewal = True, started + settings.heartbeat_interval_s
    overdue = False
    try:
        while True:
            try:
                return process.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if renewing and now >= next_renewal:
                renewing = _renew(job_id, lease_id, settings)
                next_renewal = now + settings.heartbeat_interval_s
            if not overdue and now >= deadline:
                overdue, renewing = True, False
                _stop_overdue(claim, child, settings, run_seconds=claim.run_seconds + now - started)
            if child.kill_at is not None and not child.announced:
                child.announced = True
                log.info(
                    "job %s: worker shutting down; training process %d asked to hand the job "
                    "back within %g s",
                    job_id,
                    process.pid,
                    settings.shutdown_grace_s,
                )
            if child.kill_at is not None and now >= child.kill_at:
                log.warning(
                    "job %s: training process %d ignored SIGTERM; killing it", job_id, process.pid
                )
                process.kill()
    finally:
        _current = None
        if process.poll() is None:  # the wait was interrupted (a hard shutdown): leave no orphan
            process.kill()
            process.wait()


def _stop_overdue(claim: Claim, child: _Child, settings: Settings, *, run_seconds: float) -> None:
    """End the job `timeout` under its lease, then SIGTERM its training process (SIGKILL soon).

    The job is ended first, so that a process that wakes up meanwhile finds its lease gone and
    writes nothing (no hand-back of a job out of time).
    """
    log.warning(
        "job %s: past its run-time limit of %g s (and %g s of grace), which training process %d "
        "has not enforced; ending the job and the process",
        claim.job_id,
        settings.job_timeout_s,
        run_limit.GRACE_S,
        child.process.pid,
    )
    try:
        if not run_limit.end_overdue(
            claim.job_id, claim.lease_id, settings, run_seconds=run_seconds, spec=claim.spec
        ):
            log.info("job %s: ended meanwhile; stopping its training process", claim.job_id)
    except DBAPIError:
        # Left running under a lease nobody renews: `settle` or the reaper re-queues it, and
        # the next attempt, out of time, ends it at once.
        log.exception("job %s: could not record the timeout", claim.job_id)
    # The shutdown's announcement, if one is due, would say the job is being handed back.
    child.announced = True
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGTERM)
        kill_at = time.monotonic() + OVERDUE_KILL_AFTER_S
        child.kill_at = kill_at if child.kill_at is None else min(child.kill_at, kill_at)


def _renew(job_id: uuid.UUID, lease_id: uuid.UUID, settings: Settings) -> bool:
    """Renew the lease on the training process's behalf; whether to go on renewing.

    The training process renews it too (and learns of cancels that way), but not before Python
    has started, and not while an import or a long C call holds its interpreter: on a busy
    machine that can outlast a short lease. This process is idle meanwhile, and it is the one
    whose death (the kernel then kills the training process) the lease is there to detect.
    """
    try:
        with get_sessionmaker(settings.database_url)() as session:
            heartbeat(session=session, job_id=job_id, lease_id=lease_id)
    except LeaseLost:
        return False  # the job ended, or was taken; the training process finds out itself
    except DBAPIError as error:
        log.debug("job %s: lease not renewed (%s); the training process retries", job_id, error)
    return True


def stop_child(*, grace_s: float, immediately: bool = False) -> None:
    """Ask the running training process to hand its job back (SIGTERM), SIGKILL after `grace_s`.

    Called from the worker's shutdown signal handler: no logging here (its lock may be held by
    the very code the signal interrupted); the wait loop reports instead.
    """
    _shutting_down.set()
    child = _current
    if child is None or child.process.poll() is not None:
        return
    if immediately:
        child.process.kill()
    elif child.kill_at is None:
        child.process.send_signal(signal.SIGTERM)
        child.kill_at = time.monotonic() + grace_s


def settle(
    job_id: uuid.UUID, lease_id: uuid.UUID, code: int, *, settings: Settings, send: Sender
) -> None:
    """Act on what the training process left: nothing, a hand-back, or a job it never ended."""
    try:
        status, held_by, enqueued_at = store_call(
            settings,
            lambda session: session.execute(
                select(Job.status, Job.lease_id, Job.enqueued_at).where(Job.id == job_id)
            ).one(),
            what=f"read job {job_id}",
        )
        if status == JobStatus.running and held_by == lease_id:
            reason = f"training process {describe_exit(code)}"
            new = store_call(
                settings,
                lambda session: abandon_job(
                    session=session,
                    job_id=job_id,
                    lease_id=lease_id,
                    max_attempts=settings.max_attempts,
                    reason=reason,
                ),
                what=f"abandon job {job_id}",
            )
            log.warning("job %s: %s without ending the job; now %s", job_id, reason, _name(new))
            if new == JobStatus.queued:
                _send_or_leave(send, job_id)
        elif status == JobStatus.queued and enqueued_at is None:
            log.info("job %s: handed back by its training process; sending it again", job_id)
            _send_or_leave(send, job_id)
        else:
            log.info(
                "job %s: training process %s; job %s", job_id, describe_exit(code), _name(status)
            )
    except DBAPIError:
        # The job stays running under a lease nobody renews: the reaper re-queues it.
        log.exception("job %s: could not record how its training process ended", job_id)


def _hand_back_unstarted(job_id: uuid.UUID, claim: Claim, settings: Settings, send: Sender) -> None:
    def release(session: Session) -> None:
        release_job(
            session=session, job_id=job_id, lease_id=claim.lease_id, run_seconds=claim.run_seconds
        )

    store_call(settings, release, what=f"release job {job_id}")
    log.info("job %s: worker shutting down; handed back before training", job_id)
    _send_or_leave(send, job_id)


def _send_or_leave(send: Sender, job_id: uuid.UUID) -> None:
    try:
        send(job_id)
    except Exception:
        # Broker errors come in many types; the job has enqueued_at NULL, so the reaper's
        # outbox pass sends it once the broker answers again.
        log.exception("job %s: could not reach the broker; the reaper will send it", job_id)


def describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return f"was killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    return f"exited with code {code}"


def child_env(settings: Settings) -> dict[str, str]:
    """The worker's environment with its settings spelled out, so the child reads the same."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[name.upper()] = _env_text(value)
    return env


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _name(status: JobStatus | None) -> str:
    return status.value if status is not None else "unchanged"
