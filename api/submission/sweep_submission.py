"""Submitting a sweep: expand it, validate every child as `POST /jobs` would, create all of them
in one transaction, then send their ids in bulk (issue 10).

Nothing is created unless every child is valid: one 422 names every field at fault, each with
the child (its grid values) at fault (sweep_checks.py). As for a single job, when the broker
refuses, the children are deleted. With `reuse` (issue 20), the children that earlier runs
answer are settled from them in the same transaction and never sent.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from api.errors import RETRY_AFTER_S, ApiError
from api.schemas.request import spec_hash
from api.schemas.sweeps import SweepRequest
from api.submission.job_queue import JobQueue
from api.submission.job_submission import QUEUE_DOWN, in_submit_thread
from api.submission.sweep_checks import checked_sweep
from core.messaging.producer import BrokerUnavailable, in_new_session
from core.settings import Settings
from core.store.db import retry_conflicts
from core.store.jobs import delete_unsent_job, mark_all_enqueued
from core.store.sweeps import create_sweep
from core.store.tables import Owner, Sweep
from core.vocabulary import ErrorCode

log = logging.getLogger(__name__)


async def submit_sweep(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: SweepRequest,
    idempotency_key: str | None,
) -> tuple[Sweep, bool]:
    work = partial(_submit, sessions, settings, queue, owner, request, idempotency_key)
    return await in_submit_thread(work)


def _submit(
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: SweepRequest,
    idempotency_key: str | None,
) -> tuple[Sweep, bool]:
    sweep, ids, created = retry_conflicts(
        partial(_accept, sessions, settings, owner, request, idempotency_key),
        what="sweep submission",
    )
    if created and request.reuse:
        reused = sweep.children - len(ids)
        log.info("sweep %s of %s: %d jobs reused", sweep.id, owner.name, reused)
    if created and ids:  # every child reused: nothing to send or mark
        send_all(sessions, queue, ids)
        log.info("sweep %s of %s: %d jobs queued", sweep.id, owner.name, len(ids))
    return sweep, created


def _accept(
    sessions: sessionmaker[Session],
    settings: Settings,
    owner: Owner,
    request: SweepRequest,
    idempotency_key: str | None,
) -> tuple[Sweep, list[uuid.UUID], bool]:
    """Validate every child and commit the sweep with its jobs in one transaction; with
    `reuse`, the children that earlier runs answer are settled in it too, and left out of the
    ids to send."""
    with sessions() as session:
        new, varying = checked_sweep(session, settings, owner, request)
        body = request.model_dump(mode="json")
        sweep, ids, created = create_sweep(
            session=session,
            owner_id=owner.id,
            children=new,
            request=body,
            varying=varying,
            max_queued=settings.max_queued_per_owner,
            name=request.name,
            preset=request.preset,
            priority=request.priority,
            max_parallel=request.max_parallel,
            max_stored_bytes=settings.storage_quota_bytes,
            compute_budget=settings.compute_budget_flops,
            idempotency_key=idempotency_key,
            request_hash=spec_hash(body),
            reuse=request.reuse,  # settled in the same transaction (issue 20)
        )
        session.expunge(sweep)
    return sweep, ids, created


def send_all(sessions: sessionmaker[Session], queue: JobQueue, ids: list[uuid.UUID]) -> None:
    """Send every child's id, then mark them enqueued; all or nothing, like a single job."""
    try:
        for job_id in ids:
            queue.send(job_id)
    except BrokerUnavailable:
        store = in_new_session(sessions)
        for job_id in ids:
            store(partial(_delete_unsent, job_id))
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        raise ApiError(503, ErrorCode.queue_unavailable, QUEUE_DOWN, headers=retry) from None
    with sessions() as session:
        mark_all_enqueued(session=session, job_ids=ids)


def _delete_unsent(job_id: uuid.UUID, session: Session) -> None:
    delete_unsent_job(session=session, job_id=job_id)
