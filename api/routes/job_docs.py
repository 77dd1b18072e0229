"""What /jobs answers besides success, for the OpenAPI document: the responses of each route in
api/routes/jobs.py, with examples, and the messages of a job without weights."""

from __future__ import annotations

from typing import Any

from api.errors import error_doc
from api.job_files import once_succeeded
from api.schemas import examples
from api.schemas.views import JobView
from api.submission.job_submission import QUEUE_DOWN
from core.vocabulary import ErrorCode

Responses = dict[int | str, dict[str, Any]]

UNAUTHORIZED: Responses = {
    401: error_doc("no valid API key", ErrorCode.unauthorized, "the API key is unknown or revoked")
}
NOT_FOUND: Responses = {
    404: error_doc("no such job among yours", ErrorCode.not_found, f"no job {examples.JOB_ID}"),
    422: error_doc(
        "the id is not a UUID", ErrorCode.validation_error, "job_id: Input should be a valid UUID"
    ),
}
CREATE: Responses = {
    200: {
        "model": JobView,
        "description": "the job an earlier request with this Idempotency-Key created",
        "content": examples.job_examples("running"),
    },
    201: {"description": "created and queued", "content": examples.job_examples("queued")},
    **UNAUTHORIZED,
    422: error_doc(
        "a field is missing, of the wrong type or out of bounds; the cost is over the cap; "
        "init_from is unusable; or the Idempotency-Key was used with another body",
        ErrorCode.validation_error,
        "depth: must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, ...), got 55",
    ),
    429: error_doc(
        "too many of your jobs are queued, or (code `compute_budget_exceeded`) your queued and "
        "running jobs would hold more training FLOPs than COMPUTE_BUDGET_FLOPS; see Retry-After",
        ErrorCode.quota_exceeded,
        "owner has 100 queued jobs, the most allowed; wait for some to start",
    ),
    503: error_doc(
        "the queue or the database is down; nothing was created",
        ErrorCode.queue_unavailable,
        QUEUE_DOWN,
    ),
}

LIST: Responses = {
    **UNAUTHORIZED,
    422: error_doc(
        "a bad query parameter", ErrorCode.validation_error, "cursor: not a cursor from this API"
    ),
}

READ: Responses = {
    200: {
        "description": "the job",
        "content": examples.job_examples("queued", "running", "succeeded", "failed"),
    },
    **UNAUTHORIZED,
    **NOT_FOUND,
}

METRICS: Responses = {**UNAUTHORIZED, **NOT_FOUND}

WEIGHTS: Responses = {
    200: {
        "description": "the trained weights in the format asked for (see `format`)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "If-None-Match named this file's ETag: the copy you have is current"},
    **UNAUTHORIZED,
    **NOT_FOUND,
    409: once_succeeded.WEIGHTS.doc("the job has no weights (yet)"),
    410: error_doc("the job's files were deleted", ErrorCode.gone, examples.GONE),
}

CANCEL: Responses = {
    200: {
        "description": "the job was queued and is now cancelled; it will never run",
        "content": examples.job_examples("cancelled"),
    },
    202: {
        "model": JobView,
        "description": "the job is running; it stops between two batches",
        "content": examples.job_examples("cancelling"),
    },
    **UNAUTHORIZED,
    **NOT_FOUND,
    409: error_doc(
        "the job has already finished",
        ErrorCode.conflict,
        f"job {examples.JOB_ID} is already succeeded; nothing to cancel",
    ),
}

DELETE: Responses = {
    200: {
        "description": "the job, marked deleted: its weights, checkpoint and exported files "
        "are gone, its record stays (ids are never reused). Deleting again answers the same",
        "content": examples.job_examples("deleted"),
    },
    **UNAUTHORIZED,
    **NOT_FOUND,
    409: error_doc(
        "the job is queued or running (cancel it first), or a queued or running job starts "
        "from its weights (init_from)",
        ErrorCode.conflict,
        f"job {examples.JOB_ID} is running; cancel it first "
        f"(POST /jobs/{examples.JOB_ID}/cancel), then delete it once it has ended",
    ),
}
