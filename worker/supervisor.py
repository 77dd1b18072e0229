"""The worker's side of one job: claim it, train it in a fresh child process (`worker.child`),
settle the end (`worker.settle`). Runs in the worker's main process, which never imports torch.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from functools import partial

from core.settings import Settings, get_settings
from core.store.lifecycle import Claim, ClaimRefused
from core.store.scheduling import claim_next
from worker import recovery
from worker.child import (  # noqa: F401  (stop_child, describe_exit: old import paths)
    describe_exit,
    run_child,
    scratch_folder,
    shutting_down,
    stop_child,
)
from worker.db import store_call
from worker.settle import Sender, hand_back_unstarted, settle

log = logging.getLogger(__name__)

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
    me = recovery.current()  # set at the worker's start; a restart under its name takes its jobs
    try:
        supervise(
            uuid.UUID(job_id),
            settings=settings,
            worker=str(me) if me is not None else f"{hostname}/pid{os.getpid()}",
            send=partial(dispatch.send, settings=settings),
        )
    finally:
        _idle_since = time.monotonic()


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
    with scratch_folder(claim) as scratch:
        code = run_child(claim, settings, scratch=scratch)
    settle(job_id, claim.lease_id, code, settings=settings, send=send)
