"""What a job has only once it has succeeded or been stopped early by its sweep's rule (weights,
its report, predictions), and the one 409 that says why it is not there yet, or never will be,
whatever the file. A stopped child (issue 20) keeps its epochs and weights: it serves them as a
succeeded job does, and the message names its status when a file is missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.errors import ApiError, error_doc
from core.store.tables import JobStatus
from core.vocabulary import ErrorCode


@dataclass(frozen=True)
class OnceSucceeded:
    """`available`: what a queued or running job will have ("weights are available");
    `missing`: what a failed or cancelled job lacks ("it has no weights"); `otherwise`: the
    answer for a succeeded or stopped job without it (made before the file existed, or its
    export failed).
    """

    available: str
    missing: str
    otherwise: str

    def message(self, status: JobStatus) -> str:
        if status in (JobStatus.queued, JobStatus.running):
            return f"job is {status.value}; {self.available} once it has succeeded"
        if status == JobStatus.failed:
            return f"job failed; {self.missing}"
        if status == JobStatus.cancelled:
            return f"job was cancelled; {self.missing}"
        if status == JobStatus.stopped:
            return f"job was stopped early by its sweep's rule, and {self.otherwise}"
        return self.otherwise

    def refusal(self, status: JobStatus) -> ApiError:
        """The 409 for a job in `status` that lacks the file."""
        return ApiError(409, ErrorCode.conflict, self.message(status))

    def doc(self, description: str) -> dict[str, Any]:
        """For the routes' `responses=`: the 409 as a running job gets it."""
        return error_doc(description, ErrorCode.conflict, self.message(JobStatus.running))


WEIGHTS = OnceSucceeded("weights are available", "it has no weights", "job has no weights")
REPORT = OnceSucceeded("its report is made", "it has no report", "the job has no report")
ENDED_WITH_WEIGHTS = frozenset({JobStatus.succeeded, JobStatus.stopped})
PREDICTIONS = OnceSucceeded(
    "predictions are available",
    "it has no weights to predict with",
    "the job has no ONNX export to predict with",
)
