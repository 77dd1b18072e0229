"""The worker's side of one job, top to bottom: claim it, wait for device memory, train it in a
fresh training process (`worker.child`), and settle what that process left. Every store call
about the job goes through its `HeldJob`. Runs in the worker's main process, which never
imports torch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial

from sqlalchemy.exc import DBAPIError

from core.settings import Settings, get_settings
from core.store.tables import JobStatus
from worker import recovery
from worker.admission import Admission, job_bytes
from worker.child import describe_exit, run_child, scratch_folder, shutting_down
from worker.held_job import ClaimRefused, HeldJob, LeaseLost

log = logging.getLogger(__name__)

Sender = Callable[[uuid.UUID], None]


class Slots:
    """The worker's job slots (JOBS_PER_GPU), and since when one has been free. The reaper reads
    `idle_for`: a queued job that a worker with a free slot has not received has no message
    that reaches one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = 0
        self._free_since: float | None = time.monotonic()

    def reset(self) -> None:
        """The worker consumes from the broker from now on (called when it is ready)."""
        with self._lock:
            self._busy, self._free_since = 0, time.monotonic()

    def idle_for(self, capacity: int) -> float:
        """Seconds a slot has been free; 0 while all `capacity` are busy."""
        with self._lock:
            since = self._free_since if self._busy < capacity else None
        return 0.0 if since is None else time.monotonic() - since

    def take(self, capacity: int) -> None:
        with self._lock:
            self._busy += 1
            if self._busy >= capacity:
                self._free_since = None

    def give(self) -> None:
        with self._lock:
            self._busy -= 1
            if self._free_since is None:
                self._free_since = time.monotonic()


_slots = Slots()
_admission = Admission()


def mark_idle() -> None:
    """The worker consumes from the broker from now on (called when it is ready)."""
    _slots.reset()


def idle_for() -> float:
    """Seconds this worker has had a free slot for a job; 0 while all are busy."""
    return _slots.idle_for(get_settings().jobs_per_gpu)


def run(job_id: str, *, hostname: str) -> None:
    """The task's body: supervise one job with this worker's settings and the real broker."""
    # Imported here: it builds the Celery app from the settings, which the plain functions
    # below (and their tests) do not need.
    from worker import dispatch

    settings = get_settings()
    _slots.take(settings.jobs_per_gpu)
    me = recovery.current()  # set at the worker's start; a restart under its name takes its jobs
    try:
        supervise(
            uuid.UUID(job_id),
            settings=settings,
            worker=str(me) if me is not None else f"{hostname}/pid{os.getpid()}",
            send=partial(dispatch.send, settings=settings),
        )
    finally:
        _slots.give()


def supervise(job_id: uuid.UUID, *, settings: Settings, worker: str, send: Sender) -> None:
    """Claim the job that fair share puts first (the message's job_id is a hint, issue 10),
    run its training process to the end and settle what the process left."""
    held = HeldJob.claim_next(settings, worker=worker, hint=job_id)
    if held is ClaimRefused.not_queued:
        # A second delivery, or a job cancelled or finished meanwhile: nothing to do.
        log.info("job %s: not queued (claimed, finished or cancelled); message dropped", job_id)
        return
    if held is ClaimRefused.owner_busy:
        # No message held back for later (a countdown): an idle worker's reaper sends the job
        # again once it has waited a while (worker.reaper.RESEND_AFTER_S).
        log.info("job %s: its owner runs as many jobs as allowed; left queued", job_id)
        return
    assert isinstance(held, HeldJob) and held.claim is not None
    claim, job_id = held.claim, held.job_id  # perhaps not the message's: core.store.scheduling
    log.info(
        "job %s: claimed by %s (attempt %d, lease %s)",
        job_id,
        worker,
        claim.attempt,
        claim.lease_id,
    )
    if shutting_down():
        _hand_back_unstarted(held, claim.run_seconds, send)
        return
    budget = _admission.budget(settings)
    need = job_bytes(claim.spec, capacity=budget.capacity or 0, jobs_per_gpu=settings.jobs_per_gpu)
    if not budget.admit(
        need,
        keep_waiting=lambda: not shutting_down() and _renew_unstarted(held, claim.run_seconds),
        what=f"job {job_id}",
        poll_s=settings.heartbeat_interval_s,
    ):
        if shutting_down():
            _hand_back_unstarted(held, claim.run_seconds, send)
        else:
            log.info("job %s: cancelled or taken while waiting for device memory", job_id)
        return
    try:
        with scratch_folder(claim) as scratch:
            code = run_child(held, claim, scratch=scratch)
    finally:
        budget.release(need)
    settle(job_id, claim.lease_id, code, settings=settings, send=send)


def _renew_unstarted(held: HeldJob, run_seconds: float) -> bool:
    """Renew the lease of a claimed job that waits to start (for device memory); False once it
    is lost, or once the job is cancelled, which is then ended here: no training process of its
    own would see the cancel before it was admitted, maybe hours later."""
    cancelled = held.renew_on_behalf()
    if cancelled is None:
        return False
    if not cancelled:
        return True
    try:
        held.end(JobStatus.cancelled, run_seconds=run_seconds)
    except LeaseLost:
        return False
    log.info("job %s: cancelled while waiting for device memory", held.job_id)
    return False


def _hand_back_unstarted(held: HeldJob, run_seconds: float, send: Sender) -> None:
    held.hand_back(run_seconds)
    log.info("job %s: worker shutting down; handed back before training", held.job_id)
    _send_or_leave(send, held.job_id)


def settle(
    job_id: uuid.UUID, lease_id: uuid.UUID, code: int, *, settings: Settings, send: Sender
) -> None:
    """Act on what the training process left, once it has exited: nothing, a send of a job it
    handed back, or the record of a death it could not write itself."""
    held = HeldJob(settings, job_id, lease_id)
    try:
        state = held.state()
        if state is None:
            log.warning("job %s: gone from the database", job_id)
            return
        status = state.status
        if status == JobStatus.running and state.lease_id == lease_id:
            reason = f"training process {describe_exit(code)}"
            new = held.abandon(reason)
            log.warning("job %s: %s without ending the job; now %s", job_id, reason, _name(new))
            if new == JobStatus.queued:
                _send_or_leave(send, job_id)
        elif status == JobStatus.queued and state.enqueued_at is None:
            log.info("job %s: handed back by its training process; sending it again", job_id)
            _send_or_leave(send, job_id)
        else:
            log.info(
                "job %s: training process %s; job %s", job_id, describe_exit(code), _name(status)
            )
    except DBAPIError:
        # The job stays running under a lease nobody renews: the reaper re-queues it.
        log.exception("job %s: could not record how its training process ended", job_id)


def _send_or_leave(send: Sender, job_id: uuid.UUID) -> None:
    try:
        send(job_id)
    except Exception:
        # Broker errors come in many types; the job has enqueued_at NULL, so the reaper's
        # outbox pass sends it once the broker answers again.
        log.exception("job %s: could not reach the broker; the reaper will send it", job_id)


def _name(status: JobStatus | None) -> str:
    return status.value if status is not None else "unchanged"
