"""GET /jobs/{id}/report: the evaluation report a succeeded job's worker stored (issue 11); a
child stopped early by its sweep's rule has one too, with the decision that stopped it
(issue 20)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter

from api.deps import CurrentOwner, JobId, SessionDep, db_route
from api.errors import error_doc
from api.job_files import once_succeeded
from api.job_files.deleted_files import GONE_EXAMPLE, refuse_if_deleted
from api.schemas.evaluation_report import EvaluationReport
from core.store.artifacts import REPORT, load_artifact
from core.store.jobs import get_job
from core.store.tables import JobStatus
from core.vocabulary import ErrorCode

router = APIRouter(prefix="/jobs", tags=["jobs"])

EXAMPLE = {
    "job_id": "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b",
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
    response_model=EvaluationReport,
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
        409: once_succeeded.REPORT.doc("the job has no report (yet)"),
        410: error_doc("the job's files were deleted", ErrorCode.gone, GONE_EXAMPLE),
    },
)
@db_route
def report(job_id: JobId, owner: CurrentOwner, session: SessionDep) -> EvaluationReport:
    """The final network's evaluation on the test set, with every figure's definition; for a
    child stopped early, the network at the epoch it stopped, and why it stopped."""
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    refuse_if_deleted(job)
    data = load_artifact(session=session, job_id=job.id, kind=REPORT)
    if data is None:
        raise once_succeeded.REPORT.refusal(job.status)
    found: dict[str, Any] = json.loads(data)
    if job.status == JobStatus.stopped:  # why it stopped lives in the job's results
        found["early_stopping"] = (job.results or {}).get("early_stopping")
    return EvaluationReport.model_validate({"job_id": str(job.id), **found})
