"""The training process of one job, seen from the worker's main process: start it with its
order, wait for it while renewing the lease on its behalf, end it past the job's run-time
limit, and stop it when the worker shuts down.

The main process never imports torch: the training runs in
`python -m worker.training_process.train_child`, so its memory (GPU memory included) goes back
to the system when it exits, and a crash or an out-of-memory kill costs the job an attempt, not
the worker.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from core.spec import ResolvedSpec
from worker import run_limit, spare, spawn
from worker.held_job import Claim, HeldJob
from worker.training_process.order import ChildOrder

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the wait for the child looks at the shutdown deadline
# Seconds from SIGTERM to SIGKILL for a training process past its run-time limit: its job is
# already ended, so it has nothing to save; a responsive one exits at its next batch.
OVERDUE_KILL_AFTER_S = 5.0


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    kill_at: float | None = None  # monotonic time of the SIGKILL once a SIGTERM was forwarded
    announced: bool = False


# The training processes being waited for, by job: written by the pool threads that run the
# jobs, read by the shutdown signal handler (one dict operation each, atomic in CPython).
_children: dict[uuid.UUID, _Child] = {}
# Set by the worker's shutdown: a job claimed from now on is handed straight back.
_shutting_down = threading.Event()


def shutting_down() -> bool:
    """Whether the worker is shutting down (a job claimed now is handed straight back)."""
    return _shutting_down.is_set()


@contextmanager
def scratch_folder(claim: Claim) -> Iterator[Path | None]:
    """A folder for the training process's files (the `init_from` weights), removed here once
    it has exited: a training process killed outright cleans up nothing itself."""
    if ResolvedSpec.from_stored(claim.spec).init_from is None and claim.init_from_id is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix=f"crs-job-{claim.job_id}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_child(held: HeldJob, claim: Claim, *, scratch: Path | None = None) -> int:
    """Start `python -m worker.training_process.train_child` and wait for it; returns its exit code.

    Past the job's run-time limit (and a grace) the job is ended `timeout` from here and the
    training process stopped: one that hangs checks no deadline itself.
    """
    settings, job_id, lease_id = held.settings, held.job_id, held.lease_id
    order = ChildOrder(
        job_id=job_id,
        lease_id=lease_id,
        parent_pid=os.getpid(),
        settings=settings,
        scratch=scratch,
    )
    # A spare waits with torch imported and the datasets read (worker.spare); else start one.
    process = spare.take()
    if process is None:
        # The job id in the command line is for `ps` only; the order comes whole on stdin.
        # The child makes the kernel kill it when this process dies (PR_SET_PDEATHSIG), itself,
        # first thing: a preexec_fn would do it between fork and exec, which is unsafe while
        # other threads run. `spawn` says why one thread forks them all.
        process = spawn.popen(
            [sys.executable, "-m", "worker.training_process.train_child", str(job_id)]
        )
    assert process.stdin is not None
    try:
        with process.stdin:
            process.stdin.write(order.to_json().encode())
    except BrokenPipeError:
        pass  # it died at once; its exit code says how
    child = _Child(process)
    _children[job_id] = child
    log.info("job %s: training process %d started", job_id, process.pid)
    started = time.monotonic()
    deadline = started + run_limit.seconds_left(settings, claim.run_seconds)
    # The training process renews the lease too (and learns of cancels that way), but not
    # before Python has started, and not while an import or a long C call holds its interpreter:
    # on a busy machine that can outlast a short lease. This process is idle meanwhile, and it
    # is the one whose death (the kernel then kills the training process) the lease detects.
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
                renewing = held.renew_on_behalf() is not None
                next_renewal = now + settings.heartbeat_interval_s
            if not overdue and now >= deadline:
                overdue, renewing = True, False
                _stop_overdue(held, claim, child, run_seconds=claim.run_seconds + now - started)
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
        _children.pop(job_id, None)
        if process.poll() is None:  # the wait was interrupted (a hard shutdown): leave no orphan
            process.kill()
            process.wait()
        if not shutting_down():
            spare.prepare(settings)  # the next job's process, ready while this one is settled


def _stop_overdue(held: HeldJob, claim: Claim, child: _Child, *, run_seconds: float) -> None:
    """End the job `timeout` under its lease, then SIGTERM its training process (SIGKILL soon).

    The job is ended first, so that a process that wakes up meanwhile finds its lease gone and
    writes nothing (no hand-back of a job out of time).
    """
    log.warning(
        "job %s: past its run-time limit of %g s (and %g s of grace), which training process %d "
        "has not enforced; ending the job and the process",
        claim.job_id,
        held.settings.job_timeout_s,
        run_limit.GRACE_S,
        child.process.pid,
    )
    try:
        if not run_limit.end_overdue(
            held.job_id, held.lease_id, held.settings, run_seconds=run_seconds, spec=claim.spec
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


def stop_child(*, grace_s: float, immediately: bool = False) -> None:
    """Ask the running training processes to hand their jobs back (SIGTERM), SIGKILL after
    `grace_s`.

    Called from the worker's shutdown signal handler: no logging here (its lock may be held by
    the very code the signal interrupted); the wait loops report instead.
    """
    _shutting_down.set()
    spare.discard()
    for child in list(_children.values()):
        if child.process.poll() is not None:
            continue
        if immediately:
            child.process.kill()
        elif child.kill_at is None:
            child.process.send_signal(signal.SIGTERM)
            child.kill_at = time.monotonic() + grace_s


def describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return f"was killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    return f"exited with code {code}"
