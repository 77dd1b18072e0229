"""POST /jobs/estimate: what a job would cost and take, before it is submitted (issue 11)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentOwner, SessionDep, SettingsDep, db_route
from api.errors import FieldError, error_doc, invalid
from api.schemas import examples
from api.schemas.request import JobRequest, check_limits
from api.submission.dataset_availability import check_workers_have
from api.submission.job_submission import _check_webhook, check_init_from
from api.submission.uploaded_dataset import check_uploaded
from core.architecture import DATASET_CLASSES, parameter_count
from core.estimate import cost, estimate_times
from core.store.artifacts import throughput_measurements
from core.store.worker_data import data_report
from core.vocabulary import ErrorCode

router = APIRouter(prefix="/jobs", tags=["jobs"])

ACTIVATIONS = (
    "activations one training step keeps for its backward pass, for the whole batch: the input "
    "images plus two values per element every convolution outputs (its output, read by batch "
    "norm's backward, and the in-place ReLU's output, read by the next convolution), plus the "
    "logits, at 4 bytes (fp32) or 2 (bf16 autocast). Weights, gradients, momentum and the "
    "framework's workspace are not included. Checked against the tensors autograd saves."
)
NO_MEASUREMENTS = (
    "no worker has reported its training throughput yet (workers record it when a job "
    "succeeds), so there is no time estimate"
)
NO_FORMULA = "no FLOP formula for this architecture, so no time estimate"


class DeviceEstimate(BaseModel):
    device: str = Field(description="as the worker reported it: GPU name, or CPU model and threads")
    precision: str = Field(description="the number format the measurement trained in")
    images_per_second: float = Field(description="estimated training images per second")
    seconds_per_epoch: float = Field(description="training plus the test-set evaluation")
    seconds: float = Field(description="the whole job: epochs x seconds_per_epoch")
    based_on: dict[str, Any] = Field(description="the measurement that was scaled")
    method: str = Field(description="how this figure was made")


class Estimate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "spec": {"architecture": "resnet", "depth": 56, "epochs": 164},
                    "trainable_parameters": 853018,
                    "forward_flops_per_image": 250_000_000,
                    "training_flops_per_image": 750_000_000,
                    "weights_bytes": 3_452_000,
                    "activation_bytes_per_batch": {"fp32": 1_400_000_000, "bf16": 700_000_000},
                    "estimates": [
                        {
                            "device": "NVIDIA H100 80GB HBM3",
                            "precision": "bf16",
                            "images_per_second": 21000.0,
                            "seconds_per_epoch": 2.6,
                            "seconds": 426.4,
                            "based_on": {"architecture": "resnet", "depth": 20},
                            "method": "measured ResNet-20 throughput scaled by FLOPs",
                        }
                    ],
                    "method": "the nearest measurement scaled by training FLOPs per image",
                }
            ]
        }
    )

    spec: dict[str, Any] = Field(description="the request resolved, as POST /jobs would store it")
    trainable_parameters: int
    forward_flops_per_image: int | None = Field(
        description="2 x multiply-accumulates of the convolutions and the classifier "
        "(torch.utils.flop_counter's convention)"
    )
    training_flops_per_image: int | None = Field(description="3 x forward: forward and backward")
    weights_bytes: int | None = Field(description="bytes of the state_dict's tensors")
    activation_bytes_per_batch: dict[str, int | None] = Field(
        description="by precision: " + ACTIVATIONS
    )
    estimates: list[DeviceEstimate] = Field(
        description="one per (device, precision) the workers have measured"
    )
    method: str = Field(description="how the time estimates were made, or why there are none")


@router.post(
    "/estimate",
    summary="Estimate a job before submitting it",
    response_model=Estimate,
    responses={
        401: error_doc(
            "no valid API key", ErrorCode.unauthorized, "the API key is unknown or revoked"
        ),
        422: error_doc(
            "the body would be refused by POST /jobs",
            ErrorCode.validation_error,
            "depth: must be 6n+2 ...",
        ),
    },
)
@db_route
def estimate(
    request: Annotated[JobRequest, Body(openapi_examples=examples.REQUESTS)],
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
) -> Estimate:
    """Parameters, FLOPs, memory and time per device for the body of POST /jobs; creates nothing."""
    # The same checks as POST /jobs, in the same order; nothing is written.
    spec = request.resolve()
    uploaded = check_uploaded(session=session, owner=owner, spec=spec)
    if uploaded is not None:
        spec.update(uploaded.spec_fields())  # as POST /jobs stores it
    check_limits(spec, settings, classes=uploaded.classes if uploaded else None)
    check_init_from(session=session, owner=owner, spec=spec)
    check_workers_have(session=session, spec=spec)
    if request.webhook_url is not None:
        _check_webhook(request, settings)
    elif request.webhook_events is not None:
        raise invalid([FieldError.body("webhook_events", "needs a webhook_url to send them to")])
    classes = uploaded.classes if uploaded else DATASET_CLASSES[spec["dataset"]]
    figures = cost(spec)
    measured = throughput_measurements(session=session)
    # An uploaded data set's epoch is its own image count (issue 19); a built-in one's, the images
    # the workers hold (a smaller copy trains faster), else the published 50,000.
    held = (
        uploaded.train_images
        if uploaded
        else data_report(session=session).train_images.get(spec["dataset"])
    )
    times = estimate_times(spec, measured, train_images=held)
    if figures["training_flops_per_image"] is None:
        method = NO_FORMULA
    elif not times:
        method = NO_MEASUREMENTS
    else:
        method = (
            "each device's nearest measurement (same architecture and batch size preferred, "
            "then the closest FLOPs) scaled by training FLOPs per image; see each estimate's "
            "`method`. Assumes a dedicated device; queueing time not included"
        )
    return Estimate(
        spec=spec,
        trainable_parameters=parameter_count(
            spec["depth"], classes, spec["shortcut"], architecture=spec["architecture"]
        ),
        **figures,
        estimates=[DeviceEstimate(**t) for t in times],
        method=method,
    )
