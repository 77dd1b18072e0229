"""The body of `POST /jobs` and its resolution into the stored spec (defaults filled in).

Bounds that hold on every deployment live in the fields; the ones an operator sets
(`max_depth`, `max_epochs`, batch sizes, `max_cost`) are checked by `check_limits`, and
`api.openapi` writes them into the published schema so the docs show the deployed values.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    create_model,
    field_validator,
)

from api.errors import FieldError, invalid
from api.schemas.text import PlainText
from core.architecture import DATASET_CLASSES, depth_problem, parameter_count, recipe_defaults
from core.settings import Settings
from core.spec import SERVICE_NAMES, Setting, api_settings, spec_problems
from core.vocabulary import EventType

_STRICT: dict[Any, Any] = {bool: StrictBool, int: StrictInt, float: StrictFloat}


def _annotation(setting: Setting) -> Any:
    """The pydantic type of a declared field: its choices as a Literal, strict scalars."""
    if setting.option.choices is not None:
        return Literal[setting.option.choices]
    return _STRICT.get(setting.type, setting.type)


def spec_fields(*, request: bool) -> dict[str, Any]:
    """pydantic field definitions of every training setting a job's spec holds.

    In the request, `api="required"` fields have no default; in the response every field has
    one, so that a job stored before a field existed shows the value its run used.
    """
    fields: dict[str, Any] = {}
    for setting in api_settings():
        required = request and setting.option.api == "required"
        default: Any = ... if required else setting.default
        bounds: dict[str, Any] = setting.option.bounds()
        fields[setting.name] = (
            _annotation(setting),
            Field(default, description=setting.option.doc, **bounds),
        )
    return fields


class ServiceFields(BaseModel):
    """Request fields that are about the service rather than the training run."""

    # Strict types: `true` is no depth and "0.1" no learning rate; an int is a valid float.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    init_from: uuid.UUID | None = Field(
        default=None,
        description="id of one of your succeeded jobs with the same architecture, depth and "
        "shortcut whose weights to start from (needed by `frozen_base`); when its dataset "
        "differs, the classifier is replaced",
    )
    # Issue 8: where to POST the job's events, signed per Standard Webhooks with the owner's
    # secret (`python -m ops.keys webhook-secret <owner>`). Not part of the stored spec.
    webhook_url: PlainText | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="an https:// URL that receives the job's events as signed JSON POSTs "
        "(Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature); "
        "private, loopback and link-local addresses are refused",
    )
    reuse: StrictBool = Field(
        default=False,
        description="answer with an earlier run of yours instead of training again, when one "
        "succeeded with the same resolved spec (seed included), data fingerprint and trainer "
        "version; the job is then succeeded at once and names that run in `reused_from` "
        "(issue 20; the key: core/store/reuse.py)",
    )
    webhook_events: list[EventType] | None = Field(
        default=None,
        min_length=1,
        description="the event types to send to webhook_url; default: only the job's final "
        "status event (succeeded, failed or cancelled)",
    )

    @field_validator("webhook_events")
    @classmethod
    def _job_event_types(cls, types: list[EventType] | None) -> list[EventType] | None:
        if types is not None and EventType.dataset in types:
            raise ValueError(
                "`dataset` events are about uploaded data sets (GET /events/stream), never a job"
            )
        return types


class _JobRequestBase(ServiceFields):
    @field_validator("depth", check_fields=False)
    @classmethod
    def _depth_of_architecture(cls, depth: int, info: ValidationInfo) -> int:
        architecture = info.data.get("architecture")  # absent when it was refused itself
        problem = depth_problem(architecture, depth) if architecture else None
        if problem:
            raise ValueError(problem)
        return depth

    def resolve(self) -> dict[str, Any]:
        """The spec stored with the job: every field, defaults filled in, JSON types only."""
        keys = {s.name for s in api_settings()} | SERVICE_NAMES
        spec = self.model_dump(mode="json", include=keys)
        # A field the body left out takes its architecture's recipe where that departs from
        # the declared default (core/architecture.py, RECIPE_DEFAULTS; issue 22).
        for name, value in recipe_defaults(spec["architecture"]).items():
            if name not in self.model_fields_set:
                spec[name] = value
        for setting in api_settings():
            if setting.type is float:
                spec[setting.name] = float(spec[setting.name])  # 1 and 1.0 are one request
        return spec


if TYPE_CHECKING:  # the checker sees the base; the fields exist at run time
    JobRequest = _JobRequestBase
else:
    JobRequest = create_model(
        "JobRequest",
        __base__=_JobRequestBase,
        __doc__="A training job. Omitted fields take the paper's recipe (He et al. 2016, "
        "section 4.2) and a fixed seed; the job returned shows every value used, so a run can "
        "be repeated exactly.",
        **spec_fields(request=True),
    )


def spec_hash(spec: dict[str, Any]) -> str:
    """sha256 of the canonical spec: equal for two bodies that resolve to the same job."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submission_hash(
    spec: dict[str, Any], webhook_url: str | None, webhook_events: list[str] | None
) -> str:
    """What an Idempotency-Key covers: the resolved spec and the webhook, the whole body
    (issue 17: the same key with another webhook_url returned the first job). Without a webhook
    it is spec_hash(spec), as before, so keys stored earlier still match."""
    if webhook_url is None and webhook_events is None:
        return spec_hash(spec)
    events = sorted(set(webhook_events)) if webhook_events is not None else None
    return spec_hash({"spec": spec, "webhook_url": webhook_url, "webhook_events": events})


def bound_problems(body: dict[str, Any], settings: Settings) -> list[FieldError]:
    """The deployment's bounds on depth, epochs and batch_size broken by the body's values
    (integers only: another type is the request model's to name). Also run on a body the
    model refused, so that one 422 names every field at fault (issue 18)."""

    def given(name: str) -> int | None:
        value = body.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    errors: list[FieldError] = []
    depth, epochs, batch = given("depth"), given("epochs"), given("batch_size")
    if depth is not None and depth > settings.max_depth:
        errors.append(FieldError.body("depth", f"at most {settings.max_depth} on this service"))
    if epochs is not None and epochs > settings.max_epochs:
        errors.append(FieldError.body("epochs", f"at most {settings.max_epochs} on this service"))
    if batch is not None and not settings.min_batch_size <= batch <= settings.max_batch_size:
        errors.append(
            FieldError.body(
                "batch_size",
                f"between {settings.min_batch_size} and {settings.max_batch_size} on this service",
            )
        )
    return errors


def check_limits(spec: dict[str, Any], settings: Settings, *, classes: int | None = None) -> None:
    """The deployment's bounds and the cost cap; a 422 naming every field that breaks one.
    `classes`: an uploaded data set's (api.submission.uploaded_dataset), else the built-in one's."""
    errors = bound_problems(spec, settings)
    if spec["train_mode"] == "frozen_base" and spec["init_from"] is None:
        errors.append(
            FieldError.body("init_from", "train_mode frozen_base needs the id of a succeeded job")
        )
    # Rules between fields (a depth of the architecture, a shortcut it has), as the trainer
    # states them; skipped for a field already named above.
    named = {error.field for error in errors}
    errors += [FieldError.body(f, m) for f, m in spec_problems(spec) if f not in named]
    if errors:
        raise invalid(errors)
    params = parameter_count(
        spec["depth"],
        classes or DATASET_CLASSES.get(spec["dataset"], 10),
        spec["shortcut"],
        architecture=spec["architecture"],
    )
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
