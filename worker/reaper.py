"""The one place that recovers jobs nobody is working on, run by every worker every few seconds.

(a) A running job whose heartbeat is older than the lease timeout lost its worker (killed,
machine gone): back to the queue, or failed once it has used its attempts. (b) A queued job that
no message carries (the API crashed between its commit and its send, a hand-back whose send
failed) is sent. (c) A queued job whose message went out long ago, seen by a worker that has
waited for work at least as long, has no message that reaches a worker: the broker lost it
(Redis back without its data), or a worker refused it (the owner's running cap). It is sent
again. (d) With FAILED_JOB_RETENTION_DAYS over 0, failed and cancelled jobs ended longer ago lose
their stored data (the rows stay, marked deleted). Every step is an atomic update or a harmless
repeat (a second message is dropped by the claim), so several workers reaping at once do no harm.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.reaping import abandon_job, stale_jobs, unclaimed_jobs, undispatched_jobs
from core.store.storage import purge_expired
from core.store.tables import JobStatus
from core.store.types import utcnow
from worker import webhook_delivery
from worker.store_calls import store_call

log = logging.getLogger(__name__)

# A queued job's message is owed only once the API had time to send it itself (seconds).
OUTBOX_DELAY_S = 5.0
# Seconds a worker waits for work before it takes a queued job's older message for lost. An idle
# worker receives a message in milliseconds, so a false alarm needs a broker this slow, and costs
# one duplicate. Jobs of an owner at the running cap are thus retried once a pass
# (reaper_interval_s) at most, as long as some worker is idle to run them.
RESEND_AFTER_S = 5.0


@dataclass
class ReapReport:
    requeued: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    cancelled: list[uuid.UUID] = field(default_factory=list)
    sent: list[uuid.UUID] = field(default_factory=list)
    resent: list[uuid.UUID] = field(default_factory=list)
    purged: list[uuid.UUID] = field(default_factory=list)  # data past the retention period


def reap_once(
    settings: Settings,
    send: Callable[[uuid.UUID], None],
    *,
    idle_for_s: float = 0.0,
    outbox_delay_s: float = OUTBOX_DELAY_S,
    resend_after_s: float = RESEND_AFTER_S,
) -> ReapReport:
    """One pass: hand on the jobs of dead workers, send the queued jobs nobody sent, and, when
    this worker has waited `idle_for_s` >= `resend_after_s`, those whose message never came."""
    report = ReapReport()
    stale_before = utcnow() - timedelta(seconds=settings.lease_timeout_s)
    stale = store_call(
        settings,
        lambda session: stale_jobs(session=session, stale_before=stale_before),
        what="list stale jobs",
    )
    reason = f"no heartbeat for {settings.lease_timeout_s:g} s"
    for job_id in stale:
        status = store_call(
            settings,
            partial(
                _abandon_stale,
                job_id=job_id,
                stale_before=stale_before,
                max_attempts=settings.max_attempts,
                reason=reason,
            ),
            what=f"abandon job {job_id}",
        )
        if status is None:
            continue  # its heartbeat came back, or another reaper got there first
        log.warning("job %s: %s; now %s", job_id, reason, status.value)
        {
            JobStatus.queued: report.requeued,
            JobStatus.failed: report.failed,
            JobStatus.cancelled: report.cancelled,
        }[status].append(job_id)
        # Re-queued jobs have enqueued_at NULL, so the outbox pass below sends them.

    owed = store_call(
        settings,
        lambda session: undispatched_jobs(session=session, older_than_s=outbox_delay_s),
        what="list undispatched jobs",
    )
    report.sent = _send_all(owed, send, why="queued without a message")

    if idle_for_s >= resend_after_s:
        sent_before = utcnow() - timedelta(seconds=resend_after_s)
        unclaimed = store_call(
            settings,
            lambda session: unclaimed_jobs(session=session, sent_before=sent_before),
            what="list unclaimed jobs",
        )
        why = f"queued, its message not received by this worker idle for {idle_for_s:.0f} s"
        report.resent = _send_all(unclaimed, send, why=why)

    if settings.failed_job_retention_days > 0:
        ended_before = utcnow() - timedelta(days=settings.failed_job_retention_days)
        report.purged = store_call(
            settings,
            lambda session: purge_expired(session=session, ended_before=ended_before),
            what="delete expired jobs' data",
        )
        if report.purged:
            log.info("deleted the stored data of %d jobs past retention", len(report.purged))
    webhook_delivery.resend_overdue(settings)
    return report


def _send_all(
    job_ids: list[uuid.UUID], send: Callable[[uuid.UUID], None], *, why: str
) -> list[uuid.UUID]:
    sent = []
    for job_id in job_ids:
        try:
            send(job_id)
        except Exception:
            # Broker errors come in many types; the job stays where it is for the next pass.
            log.exception("job %s: could not send it to the broker; trying again next pass", job_id)
            break
        log.info("job %s: %s; sent", job_id, why)
        sent.append(job_id)
    return sent


def _abandon_stale(
    session: Session, *, job_id: uuid.UUID, stale_before: datetime, max_attempts: int, reason: str
) -> JobStatus | None:
    return abandon_job(
        session=session,
        job_id=job_id,
        lease_id=None,
        max_attempts=max_attempts,
        reason=reason,
        stale_before=stale_before,
    )


class Reaper:
    """`reap_once` every `reaper_interval_s` in a daemon thread of the worker's main process."""

    def __init__(
        self,
        settings: Settings,
        send: Callable[[uuid.UUID], None],
        idle_for: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._send = send
        self._idle_for = idle_for
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                reap_once(self._settings, self._send, idle_for_s=self._idle_for())
            except Exception:
                # One bad pass (database down beyond the retry budget) must not end the thread.
                log.exception(
                    "reaper pass failed; trying again in %g s", self._settings.reaper_interval_s
                )
            self._stop.wait(self._settings.reaper_interval_s)
