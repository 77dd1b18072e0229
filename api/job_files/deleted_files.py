"""The 410 of a deleted job's files (issue 7): its record stays, its bytes are gone."""

from __future__ import annotations

from api.errors import ApiError
from core.store.storage import DeletedBy
from core.store.tables import Job
from core.vocabulary import ErrorCode


def gone_message(job: Job) -> str:
    why = DeletedBy(job.deleted_reason or DeletedBy.owner.value).description
    return (
        f"job {job.id} was {why} at {job.deleted_at:%Y-%m-%d %H:%M:%S} UTC; its weights and "
        "other files are gone (its record, results and metrics remain)"
    )


def refuse_if_deleted(job: Job) -> None:
    """410 Gone, saying by whom and when, for any of a deleted job's files."""
    if job.deleted_at is not None:
        raise ApiError(410, ErrorCode.gone, gone_message(job))


# For the routes' `responses=` documentation.
GONE_EXAMPLE = (
    "job ... was deleted by its owner at 2026-11-23 10:00:00 UTC; its weights and other files "
    "are gone (its record, results and metrics remain)"
)
