"""The words of the domain, each listed once: job statuses, event types, failure and error codes.

Torch-free and importing nothing of the project, so that the store, the worker, the API's schemas
(which show them as enums in OpenAPI) and the tests all read the same lists. The client keeps its
own copy of the statuses (it imports nothing of the service); a test holds it equal to this one.
The dashboard reads the statuses from the API's /openapi.json.
"""

from __future__ import annotations

import enum


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    # Issue 20: ended by its sweep's early-stopping rule; its epochs and weights are kept.
    stopped = "stopped"

    @property
    def terminal(self) -> bool:
        """A final status: the job never changes again."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.stopped}
)


class DatasetStatus(str, enum.Enum):
    """An uploaded data set's status (issue 19)."""

    processing = "processing"  # uploaded, being checked and converted by the datasets queue
    ready = "ready"
    failed = "failed"  # refused or broken; `error` names the member or field at fault


class EventType(str, enum.Enum):
    """What an event records (GET /jobs/{id}/events, the SSE streams, webhooks)."""

    status = "status"  # the job's status changed
    attempt = "attempt"  # a worker started (or resumed) the job
    epoch = "epoch"  # an epoch ended: its /metrics record
    warning = "warning"  # something the owner should know that does not end the job
    # An uploaded data set's status or processing progress changed (issue 19): an event of the
    # data set, not of a job, on the owner's stream (GET /events/stream).
    dataset = "dataset"


# The types the owner's stream (GET /events/stream) carries: every job's status changes and
# every data set's events.
OWNER_STREAM_TYPES = (EventType.status.value, EventType.dataset.value)


# The stream's own event: where the running epoch stands, sent over SSE every few seconds and
# never stored (so it has no id and is not an EventType a webhook or the log can carry).
PROGRESS_EVENT = "progress"


class WarningCode(str, enum.Enum):
    """`data.code` of a warning event."""

    cancel_requested = "cancel_requested"
    handed_back = "handed_back"
    lease_lost = "lease_lost"
    # The divergence watchdog (core/trainer/watchdog.py, issue 22): a blow-up the job survives.
    loss_above_chance = "loss_above_chance"
    test_loss_blowup = "test_loss_blowup"


class FailureCode(str, enum.Enum):
    """Why a job failed: jobs.error_code, shown as the job's `error.code`."""

    failed = "failed"  # shown when a failed job has no code of its own
    dataset_missing = "dataset_missing"
    dataset_unusable = "dataset_unusable"  # an uploaded data set gone or not ready (issue 19)
    diverged = "diverged"
    init_from_unusable = "init_from_unusable"
    internal_error = "internal_error"
    invalid_spec = "invalid_spec"
    out_of_memory = "out_of_memory"
    timeout = "timeout"
    worker_lost = "worker_lost"


class ErrorCode(str, enum.Enum):
    """`error.code` of an API error answer: stable, for programs."""

    bad_request = "bad_request"
    validation_error = "validation_error"
    unauthorized = "unauthorized"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    conflict = "conflict"
    gone = "gone"
    too_large = "too_large"
    unsupported_media_type = "unsupported_media_type"
    too_many_failures = "too_many_failures"
    too_many_requests = "too_many_requests"
    quota_exceeded = "quota_exceeded"
    compute_budget_exceeded = "compute_budget_exceeded"
    storage_quota_exceeded = "storage_quota_exceeded"
    http_error = "http_error"
    internal_error = "internal_error"
    database_unavailable = "database_unavailable"
    queue_unavailable = "queue_unavailable"
    # A prediction process ended before answering (killed, out of memory); a retry gets a new one.
    prediction_unavailable = "prediction_unavailable"
    upload_incomplete = "upload_incomplete"  # a data set's upload cut off mid-stream (issue 19)
