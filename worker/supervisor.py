"""The worker's side of one job: claim it, train it in a fresh child process (`worker.child`),
settle the end (`worker.settle`). Runs in the worker's main process, which never imports torch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from functools import partial

from core.settings import Settings, get_settings
from core.store.lifecycle import Claim, ClaimRefused
from core.store.scheduling import claim_next
from worker import recovery
from worker.admission import Admission, job_bytes
from worker.child import (  # noqa: F401  (stop_child, describe_exit: old import paths)
    describe_exit,
    run_child,
    scratch_folder,
    shutting_down,
    stop_child,
)
from worker.db import store_call
from worker.settle import Sender, hand_back_unstarted, renew_unstarted, settle

log = logging.getLogger(__name__)


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
    claim = store_call(
        settings,
        lambda session: claim_next(
            session=session,
            worker=worker,
            max_running_per_owner=settings.max_running_per_owner,
            hint=job_id,
        ),
        what=f"claim a job (message for {job_id})",
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
    job_id = claim.job_id  # perhaps not the message's: see core.store.scheduling
    log.info(
        "job %s: claimed by %s (attempt %d, lease %s)",
        job_id,
        worker,
        claim.attempt,
        claim.lease_id,
    )
    if shutting_down():
        hand_back_unstarted(job_id, claim, settings, send)
        return
    budget = _admission.budget(settings)
    need = job_bytes(claim.spec, capacity=budget.capacity or 0, jobs_per_gpu=settings.jobs_per_gpu)
    if not budget.admit(
        need,
        keep_waiting=lambda: not shutting_down() and renew_unstarted(job_id, claim, settings),
        what=f"job {job_id}",
        poll_s=settings.heartbeat_interval_s,
    ):
        if shutting_down():
            hand_back_unstarted(job_id, claim, settings, send)
        else:
            log.info("job %s: cancelled or taken while waiting for device memory", job_id)
        return
    try:
        with scratch_folder(claim) as scratch:
            code = run_child(claim, settings, scratch=scratch)
    finally:
        budget.release(need)
    settle(job_id, claim.lease_id, code, settings=settings, send=send)
