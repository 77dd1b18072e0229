"""One declaration of a job's spec and of an epoch's record: everything else derives from it.

These tests fail when a field is added in one place only (issue 7).
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from api.schemas.request import JobRequest, ServiceFields
from api.schemas.views import EpochMetrics as EpochMetricsView
from api.schemas.views import JobSpec
from core import spec
from core.architecture import RECIPE_DEFAULTS
from core.metrics import EpochMetrics, metric_names
from core.settings import Settings
from core.spec import SERVICE_NAMES as SERVICE_KEYS
from core.spec.resolved import DATASET_NAMES
from core.store.tables import EpochRecord
from worker.training_process.job_config import train_config

API_NAMES = [s.name for s in spec.api_settings()]


def test_every_config_field_is_declared_with_its_meaning() -> None:
    for field in dataclasses.fields(spec.TrainConfig):
        option = field.metadata.get("option")
        assert isinstance(option, spec.Option), f"{field.name} is not declared with option()"
        assert option.doc, f"{field.name} has no doc"


def test_request_and_response_models_hold_exactly_the_declared_fields() -> None:
    service = set(ServiceFields.model_fields)
    assert set(JobRequest.model_fields) - service == set(API_NAMES)
    assert set(JobSpec.model_fields) == set(API_NAMES) | SERVICE_KEYS
    # An uploaded data set's facts are service fields no request sets (issue 19).
    assert service >= SERVICE_KEYS - DATASET_NAMES


def test_request_defaults_bounds_and_choices_come_from_the_declaration() -> None:
    schema = JobRequest.model_json_schema()
    keywords = {
        "ge": "minimum",
        "gt": "exclusiveMinimum",
        "le": "maximum",
        "lt": "exclusiveMaximum",
    }
    required = set(schema["required"])
    for setting in spec.api_settings():
        prop = schema["properties"][setting.name]
        assert prop["description"] == setting.option.doc
        if setting.option.api == "required":
            assert setting.name in required
        else:
            assert prop["default"] == setting.default, setting.name
        if setting.option.choices is not None:
            assert tuple(prop["enum"]) == setting.option.choices, setting.name
        for bound, value in setting.option.bounds().items():
            assert prop[keywords[bound]] == value, (setting.name, bound)


def test_a_resolved_request_reaches_the_trainer_field_by_field(tmp_path: Path) -> None:
    body = {"architecture": "resnet", "depth": 32, "epochs": 3, "seed": 7, "momentum": 0.5}
    resolved = JobRequest.model_validate(body).resolve()
    # A CIFAR job's stored spec has no uploaded data set's facts (issue 19).
    assert set(resolved) == set(API_NAMES) | (SERVICE_KEYS - DATASET_NAMES)
    config = train_config(resolved, Settings(data_dir=tmp_path))
    for name in API_NAMES:
        assert getattr(config, name) == resolved[name], name


def test_response_spec_shows_defaults_for_a_field_the_stored_spec_lacks() -> None:
    """A job stored before a field existed ran with the field's default."""
    view = JobSpec.model_validate({"architecture": "resnet", "depth": 20, "epochs": 1})
    for setting in spec.api_settings():
        if setting.option.api is True:
            assert getattr(view, setting.name) == setting.default


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"momentum": 1.0}, "momentum"), ({"learning_rate": 11.0}, "learning_rate")],
)
def test_trainer_and_api_refuse_the_same_values(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        spec.TrainConfig(**changes)  # type: ignore[arg-type]
    body = {"architecture": "resnet", "depth": 20, "epochs": 1, **changes}
    with pytest.raises(ValueError, match=field):
        JobRequest.model_validate(body)


def test_depth_rule_is_the_architectures() -> None:
    with pytest.raises(ValueError, match="depth"):
        spec.TrainConfig(depth=21)
    with pytest.raises(ValueError, match="depth"):
        JobRequest.model_validate({"architecture": "resnet", "depth": 21, "epochs": 1})


def test_epoch_record_is_declared_once() -> None:
    names = list(metric_names())
    columns = [c.name for c in EpochRecord.__table__.columns]
    assert [c for c in columns if c in names] == names, "EpochRecord's columns differ"
    assert set(columns) - set(names) == {"id", "job_id", "recorded_at"}
    assert list(EpochMetricsView.model_fields) == names
    record = EpochMetrics(**{name: 1 for name in names})
    assert EpochMetricsView.model_validate(record.as_dict()).model_dump() == record.as_dict()


def test_service_fields_are_not_training_settings() -> None:
    assert not SERVICE_KEYS & set(API_NAMES)
    job = str(uuid.uuid4())  # init_from is a job id, resolved by the worker into a weights file
    body = {"architecture": "resnet", "depth": 20, "epochs": 1, "init_from": job}
    assert JobRequest.model_validate(body).resolve()["init_from"] == job


def test_api_refuses_what_the_trainer_refuses_between_fields() -> None:
    """A rule between fields is stated once, by the trainer; the API asks it (spec_problems)."""
    body = {"architecture": "preact_resnet", "depth": 20, "epochs": 1, "shortcut": "B"}
    resolved = JobRequest.model_validate(body).resolve()
    assert [field for field, _ in spec.spec_problems(resolved)] == ["shortcut"]
    with pytest.raises(ValueError, match="shortcut"):
        spec.TrainConfig(**{k: v for k, v in resolved.items() if k in API_NAMES})
    assert spec.spec_problems({**resolved, "shortcut": "A"}) == []


@pytest.mark.parametrize(
    ("values", "learning_rate"),
    [
        ({"architecture": "vgg", "depth": 11}, 0.01),  # its recipe (RECIPE_DEFAULTS)
        ({"architecture": "vgg", "depth": 11, "learning_rate": 0.1}, 0.1),  # given: kept
        ({"architecture": "resnet", "depth": 20}, 0.1),  # the paper's
        ({}, 0.1),  # the declared architecture, resnet
    ],
)
def test_config_from_dict_fills_the_architecture_recipe(
    values: dict[str, object], learning_rate: float
) -> None:
    assert spec.TrainConfig.from_dict(values).learning_rate == learning_rate


def test_recipe_defaults_are_named_in_their_field_doc() -> None:
    docs = {s.name: s.option.doc for s in spec.settings()}
    for architecture, overrides in RECIPE_DEFAULTS.items():
        for name, value in overrides.items():
            assert f"{value!r} for `{architecture}`" in docs[name], name
