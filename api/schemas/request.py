"""The body of `POST /jobs` and its resolution into the stored spec (defaults filled in).

Bounds that hold on every deployment live in the fields; the ones an operator sets
(`max_depth`, `max_epochs`, batch sizes, `max_cost`) are checked by `check_limits`, and
`api.openapi` writes them into the published schema so the docs show the deployed values.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
)

from api.errors import FieldError, invalid
from core.architecture import DATASET_CLASSES, blocks_per_stage, parameter_count
from core.settings import Settings

SEED_MAX = 2**32 - 1  # the widest range every RNG the trainer seeds accepts (numpy's legacy one)

Architecture = Literal["resnet", "plain"]
Dataset = Literal["cifar10", "cifar100"]
Schedule = Literal["multistep", "step", "cosine"]
TrainMode = Literal["end_to_end", "frozen_base"]
Shortcut = Literal["A", "B"]


class JobRequest(BaseModel):
    """A training job. Omitted fields take the paper's recipe (He et al. 2016, section 4.2) and
    a fixed seed; the job returned shows every value used, so a run can be repeated exactly."""

    # Strict types: `true` is no depth and "0.1" no learning rate; an int is a valid float.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    architecture: Architecture = Field(
        description="`resnet` (identity shortcuts) or `plain` (the same net without them)"
    )
    depth: StrictInt = Field(
        ge=8, description="layers, 6n+2: 20, 32, 44, 56, 110, 1202, ... (section 4.2)"
    )
    epochs: StrictInt = Field(ge=1, description="passes over the training set; the paper: 164")
    dataset: Dataset = "cifar10"
    batch_size: StrictInt = Field(default=128, ge=1, description="images per SGD step")
    learning_rate: StrictFloat = Field(default=0.1, gt=0, le=10, description="peak learning rate")
    momentum: StrictFloat = Field(default=0.9, ge=0, lt=1, description="SGD momentum")
    weight_decay: StrictFloat = Field(default=1e-4, ge=0, le=1, description="L2 penalty")
    lr_schedule: Schedule = Field(
        default="multistep",
        description="`multistep` (/10 at 50 % and 75 % of training, the paper's), `step` "
        "(halved every 20 epochs) or `cosine`",
    )
    augment: StrictBool = Field(default=True, description="4-pixel pad, random crop and flip")
    seed: StrictInt = Field(
        default=0, ge=0, le=SEED_MAX, description="fixes initialisation and data order"
    )
    train_mode: TrainMode = Field(
        default="end_to_end",
        description="`end_to_end`, or `frozen_base`: only a new classifier learns, on top of "
        "the network of `init_from`",
    )
    shortcut: Shortcut = Field(
        default="A", description="`A`: zero-padding, parameter-free; `B`: 1x1 projections"
    )
    init_from: uuid.UUID | None = Field(
        default=None,
        description="id of one of your succeeded jobs with the same architecture, depth and "
        "shortcut whose weights to start from (needed by `frozen_base`); when its dataset "
        "differs, the classifier is replaced",
    )

    @field_validator("depth")
    @classmethod
    def _six_n_plus_two(cls, depth: int) -> int:
        blocks_per_stage(depth)  # its ValueError names the allowed depths
        return depth

    def resolve(self) -> dict[str, Any]:
        """The spec stored with the job: every field, defaults filled in, JSON types only."""
        spec = self.model_dump(mode="json")
        for key in ("learning_rate", "momentum", "weight_decay"):
            spec[key] = float(spec[key])  # 1 and 1.0 are one request
        return spec


def spec_hash(spec: dict[str, Any]) -> str:
    """sha256 of the canonical spec: equal for two bodies that resolve to the same job."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_limits(spec: dict[str, Any], settings: Settings) -> None:
    """The deployment's bounds and the cost cap; a 422 naming every field that breaks one."""
    errors: list[FieldError] = []
    if spec["depth"] > settings.max_depth:
        errors.append(FieldError.body("depth", f"at most {settings.max_depth} on this service"))
    if spec["epochs"] > settings.max_epochs:
        errors.append(FieldError.body("epochs", f"at most {settings.max_epochs} on this service"))
    if not settings.min_batch_size <= spec["batch_size"] <= settings.max_batch_size:
        errors.append(
            FieldError.body(
                "batch_size",
                f"between {settings.min_batch_size} and {settings.max_batch_size} on this service",
            )
        )
    if spec["train_mode"] == "frozen_base" and spec["init_from"] is None:
        errors.append(
            FieldError.body("init_from", "train_mode frozen_base needs the id of a succeeded job")
        )
    if errors:
        raise invalid(errors)
    params = parameter_count(spec["depth"], DATASET_CLASSES[spec["dataset"]], spec["shortcut"])
    cost = spec["epochs"] * params
    if cost > settings.max_cost:
        most = int(settings.max_cost // params)
        raise invalid(
            [
                FieldError.body(
                    "epochs",
                    f"epochs x parameters = {spec['epochs']} x {params} = {cost:.3g} exceeds "
                    f"max_cost {settings.max_cost:.3g}; at depth {spec['depth']} at most "
                    f"{most} epochs fit",
                )
            ]
        )
