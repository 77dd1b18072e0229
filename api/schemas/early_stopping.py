"""`early_stopping` on POST /sweeps (issue 20): the rule, its grace period and rungs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.errors import FieldError


class EarlyStoppingRequest(BaseModel):
    """Stop a sweep's unpromising children early, judged on the validation split (the children
    need `validation_images` > 0). A stopped child ends `stopped`, its epochs and weights kept;
    `POST /sweeps/{id}/retry` leaves it stopped. Under a step schedule early epochs predict
    little: the default grace period runs one epoch past the first learning-rate drop."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["asha", "median"] = Field(
        description="`asha`: asynchronous successive halving (Optuna's SuccessiveHalvingPruner); "
        "`median`: stop a child whose best validation error is worse than the median of the "
        "finished children at the same epoch (Optuna's MedianPruner)"
    )
    metric: Literal["validation_error", "test_error"] = Field(
        default="validation_error",
        description="what the rule compares: only `validation_error`; `test_error` is refused, "
        "as it would select on the test set",
    )
    grace_epochs: StrictInt | None = Field(
        default=None,
        ge=1,
        description="epochs every child runs before it may be stopped (ASHA: the first rung); "
        "default: one past the first learning-rate drop",
    )
    reduction_factor: StrictInt = Field(
        default=3, ge=2, le=16, description="ASHA: one child in this many continues at a rung"
    )
    rungs: StrictInt | None = Field(
        default=None,
        ge=1,
        le=20,
        description="ASHA: decisions at epochs grace x reduction_factor^k for k below this; "
        "default: every such epoch before the last",
    )
    min_trials: StrictInt = Field(
        default=1, ge=1, description="median: children run to the end before any is stopped"
    )


def early_stopping_problems(
    early_stopping: EarlyStoppingRequest, bodies: list[dict[str, object]]
) -> list[FieldError]:
    """The rule on the test set, or children without a validation split: each a 422."""
    errors: list[FieldError] = []
    if early_stopping.metric == "test_error":
        errors.append(
            FieldError.body(
                "early_stopping.metric",
                "early stopping on the test error would select on the test set; use "
                "validation_error with validation_images > 0",
            )
        )
    elif any(not body.get("validation_images") for body in bodies):
        errors.append(
            FieldError.body(
                "early_stopping",
                "needs a validation split in every child: set validation_images > 0 "
                "(e.g. 5000, the paper's 45k/5k split)",
            )
        )
    return errors
