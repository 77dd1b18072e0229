"""GET /jobs/{id}/report: the evaluation report a succeeded job's worker stored (issue 11)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy.orm import Session

from api.deleted import GONE_EXAMPLE, refuse_if_deleted
from api.deps import CurrentOwner, SessionDep, in_thread
from api.errors import ApiError, error_doc
from core.store.artifacts import REPORT, load_artifact
from core.store.jobs import get_job
from core.store.tables import JobStatus, Owner
from core.vocabulary import ErrorCode

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[uuid.UUID, Path(description="the job's id, as POST /jobs returned it")]
NO_REPORT = {
    JobStatus.queued: "job is queued; its report is made once it has succeeded",
    JobStatus.running: "job is running; its report is made once it has succeeded",
    JobStatus.failed: "job failed; it has no report",
    JobStatus.cancelled: "job was cancelled; it has no report",
}
EXAMPLE = {
    "images": 10000,
    "top1_error": 0.0687,
    "top5_error": 0.0021,
    "nll": 0.284,
    "brier": 0.109,
    "ece": 0.038,
    "ece_bins": 15,
    "reliability": [
        {"lower": 0.9333, "upper": 1.0, "count": 8412, "accuracy": 0.981, "confidence": 0.994}
    ],
    "per_class_accuracy": [0.94, 0.97],
    "confusion_matrix": [[940, 3], [2, 970]],
    "confident_mistakes": [{"index": 2405, "true": "cat", "predicted": "dog", "confidence": 0.999}],
    "definitions": {"ece": "expected calibration error: 15 equal-width confidence bins ..."},
}


@router.get(
    "/{job_id}/report",
    summary="The evaluation report",
    response_model=dict[str, Any],
    responses={
        200: {
            "description": "the final network on the test set: errors, NLL, Brier score, "
            "calibration (ECE and the reliability diagram's data), per-class accuracy, confusion "
            "matrix, the most confident mistakes; `definitions` gives each figure's definition",
            "content": {"application/json": {"example": EXAMPLE}},
        },
        401: error_doc(
            "no valid API key", ErrorCode.unauthorized, "the API key is unknown or revoked"
        ),
        404: error_doc("no such job among yours", ErrorCode.not_found, "no job ..."),
        409: error_doc(
            "the job has no report (yet)", ErrorCode.conflict, NO_REPORT[JobStatus.running]
        ),
        410: error_doc("the job's files were deleted", ErrorCode.gone, GONE_EXAMPLE),
    },
)
async def report(job_id: JobId, owner: CurrentOwner, session: SessionDep) -> dict[str, Any]:
    """The final network's evaluation on the test set, with every figure's definition."""
    return await in_thread(session, _report, owner, job_id)


def _report(session: Session, owner: Owner, job_id: uuid.UUID) -> dict[str, Any]:
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    refuse_if_deleted(job)
    data = load_artifact(session=session, job_id=job.id, kind=REPORT)
    if data is None:
        raise ApiError(409, ErrorCode.conflict, NO_REPORT.get(job.status, "the job has no report"))
    found: dict[str, Any] = json.loads(data)
    return {"job_id": str(job.id), **found}
