"""What the worker's main process does for a job no training process holds: once its process
has exited, nothing, a send of a job handed back, or the record of a death the process could not
write itself; before one started, a hand-back at shutdown or the end of a cancelled job."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.held import job_state
from core.store.lifecycle import Claim, LeaseLost, abandon_job, end_job, release_job
from core.store.tables import JobStatus
from worker.child import describe_exit, renew
from worker.db import store_call

log = logging.getLogger(__name__)

Sender = Callable[[uuid.UUID], None]


def settle(
    job_id: uuid.UUID, lease_id: uuid.UUID, code: int, *, settings: Settings, send: Sender
) -> None:
    """Act on what the training process left: nothing, a hand-back, or a job it never ended."""
    try:
        state = store_call(
            settings,
            lambda session: job_state(session=session, job_id=job_id),
            what=f"read job {job_id}",
        )
        if state is None:
            log.warning("job %s: gone from the database", job_id)
            return
        status = state.status
        if status == JobStatus.running and state.lease_id == lease_id:
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
                send_or_leave(send, job_id)
        elif status == JobStatus.queued and state.enqueued_at is None:
            log.info("job %s: handed back by its training process; sending it again", job_id)
            send_or_leave(send, job_id)
        else:
            log.info(
                "job %s: training process %s; job %s", job_id, describe_exit(code), _name(status)
            )
    except DBAPIError:
        # The job stays running under a lease nobody renews: the reaper re-queues it.
        log.exception("job %s: could not record how its training process ended", job_id)


def hand_back_unstarted(job_id: uuid.UUID, claim: Claim, settings: Settings, send: Sender) -> None:
    def release(session: Session) -> None:
        release_job(
            session=session, job_id=job_id, lease_id=claim.lease_id, run_seconds=claim.run_seconds
        )

    store_call(settings, release, what=f"release job {job_id}")
    log.info("job %s: worker shutting down; handed back before training", job_id)
    send_or_leave(send, job_id)


def renew_unstarted(job_id: uuid.UUID, claim: Claim, settings: Settings) -> bool:
    """Renew the lease of a claimed job that waits to start (for device memory); False once it
    is lost, or once the job is cancelled, which is then ended here: no training process of its
    own would see the cancel before it was admitted, maybe hours later."""
    cancelled = renew(job_id, claim.lease_id, settings)
    if cancelled is None:
        return False
    if not cancelled:
        return True

    def cancel(session: Session) -> None:
        end_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            status=JobStatus.cancelled,
            run_seconds=claim.run_seconds,
        )

    try:
        store_call(settings, cancel, what=f"cancel job {job_id}")
    except LeaseLost:
        return False
    log.info("job %s: cancelled while waiting for device memory", job_id)
    return False


def send_or_leave(send: Sender, job_id: uuid.UUID) -> None:
    try:
        send(job_id)
    except Exception:
        # Broker errors come in many types; the job has enqueued_at NULL, so the reaper's
        # outbox pass sends it once the broker answers again.
        log.exception("job %s: could not reach the broker; the reaper will send it", job_id)


def _name(status: JobStatus | None) -> str:
    return status.value if status is not None else "unchanged"
