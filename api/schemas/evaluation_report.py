"""The evaluation report of GET /jobs/{id}/report as a typed model (issue 18), so that clients
generated from the schema read it with types. The worker writes it
(core/trainer/evaluation_report.py); errors are fractions in [0, 1], as the schema says."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class ReliabilityBin(BaseModel):
    lower: float = Field(description="the bin's lower confidence bound (excluded)")
    upper: float = Field(description="its upper bound (included)")
    count: int = Field(description="test images whose confidence falls in the bin")
    accuracy: float | None = Field(description="fraction of them predicted right; null: empty")
    confidence: float | None = Field(description="their mean confidence; null: empty")


class ConfidentMistake(BaseModel):
    index: int = Field(description="position in the test set file")
    true: str = Field(description="the true class's name")
    predicted: str = Field(description="the predicted class's name")
    confidence: float = Field(description="the predicted class's probability")


class EarlyStop(BaseModel):
    """Why a sweep's child was stopped early (issue 20), as its worker decided it."""

    rule: str = Field(description="`asha` or `median`")
    epoch: int = Field(description="the last epoch it trained; the report is of that network")
    rung: int | None = Field(default=None, description="ASHA: the rung it reached, 0-based")
    rung_epoch: int | None = Field(default=None, description="ASHA: that rung's epoch")
    validation_error: float = Field(
        description="on the validation split, as the rule read it: a fraction in [0, 1], not a "
        "percentage"
    )
    reason: str


class EvaluationReport(BaseModel):
    # Later workers may add figures; a client keeps what it does not know yet.
    model_config = ConfigDict(extra="allow")

    job_id: uuid.UUID
    images: int = Field(description="test images evaluated")
    classes: list[str] | None = Field(
        default=None, description="class names in label order (absent from older reports)"
    )
    top1_error: float = Field(description="a fraction in [0, 1], not a percentage")
    top5_error: float = Field(description="a fraction in [0, 1]; top_k classes counted")
    top_k: int | None = Field(default=None, description="k of top5_error (5, or fewer classes)")
    nll: float = Field(description="mean negative log-likelihood, natural log")
    brier: float = Field(description="multiclass Brier score, in [0, 2]")
    ece: float = Field(description="expected calibration error, a fraction")
    ece_bins: int
    reliability: list[ReliabilityBin]
    per_class_accuracy: list[float | None] = Field(
        description="per true class, a fraction; null for a class with no test images"
    )
    confusion_matrix: list[list[int]] = Field(description="rows: true class; columns: predicted")
    confident_mistakes: list[ConfidentMistake]
    definitions: dict[str, str] = Field(description="each figure's definition")
    early_stopping: EarlyStop | None = Field(
        default=None,
        description="a child stopped early by its sweep's rule: why (the report is of the "
        "network at the epoch it stopped); null for a job that ran to its last epoch",
    )
