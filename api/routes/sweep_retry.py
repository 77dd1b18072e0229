"""POST /sweeps/{id}/retry: a new attempt of each failed or cancelled point (issue 20)."""

from __future__ import annotations

import logging
import uuid
from functools import partial

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from api.deps import CurrentOwner, QueueDep, SessionDep, SettingsDep, in_thread, services
from api.errors import error_doc
from api.routes.sweeps import NOT_FOUND, SweepId, reload_sweep, view_of
from api.schemas import sweep_examples
from api.schemas.sweeps import SweepView
from api.submission.job_queue import JobQueue
from api.submission.job_submission import in_submit_thread
from api.submission.sweep_submission import send_all
from core.settings import Settings
from core.store.db import retry_conflicts
from core.store.sweep_retry import retry_sweep
from core.store.sweeps import get_sweep
from core.store.tables import Owner
from core.vocabulary import ErrorCode

log = logging.getLogger(__name__)

router = APIRouter(prefix="/sweeps", tags=["sweeps"])


class SweepRetried(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "retried": [sweep_examples.SWEEP["children"][0]["id"]],
                    "sweep": sweep_examples.SWEEP,
                }
            ]
        }
    )

    retried: list[uuid.UUID] = Field(
        description="the new children, one per failed or cancelled point (none: nothing to retry)"
    )
    sweep: SweepView = Field(description="the sweep, each point shown by its latest attempt")


@router.post(
    "/{sweep_id}/retry",
    summary="Retry a sweep's failed points",
    response_model=SweepRetried,
    responses={
        **NOT_FOUND,
        429: error_doc(
            "the new attempts would pass your queued-jobs cap", ErrorCode.quota_exceeded, "..."
        ),
    },
)
async def retry(
    sweep_id: SweepId,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    http: Request,
) -> SweepRetried:
    """Queue a new attempt of every failed or cancelled child (not the early-stopped ones) at the
    same point with the same resolved spec; it replaces the old child in the sweep's view, report
    and figure and names it in `rerun_of`. Retrying again while nothing failed does nothing."""
    work = partial(_retry, services(http).sessions, settings, queue, owner, sweep_id)
    retried = await in_submit_thread(work)

    def view(session: Session) -> SweepRetried:
        return SweepRetried(
            retried=retried, sweep=view_of(session, reload_sweep(session, owner, sweep_id))
        )

    return await in_thread(session, view)


def _retry(
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    sweep_id: uuid.UUID,
) -> list[uuid.UUID]:
    def accept() -> list[uuid.UUID]:
        with sessions() as session:
            sweep = get_sweep(session=session, owner_id=owner.id, sweep_id=sweep_id)
            return retry_sweep(
                session=session,
                sweep=sweep,
                max_queued=settings.max_queued_per_owner,
                max_stored_bytes=settings.storage_quota_bytes,
                compute_budget=settings.compute_budget_flops,
            )

    ids = retry_conflicts(accept, what="sweep retry")
    if ids:
        send_all(sessions, queue, ids)
        log.info("sweep %s of %s: %d points retried", sweep_id, owner.name, len(ids))
    return ids
