"""A stored spec is read back once into `ResolvedSpec`, with every declared default filled; the
sets the service needs (local, service and resume fields) are derived from the declarations."""

from __future__ import annotations

import dataclasses

import pytest

from api.schemas.request import JobRequest
from core import spec
from core.spec import (
    DATASET_NAMES,
    LOCAL_NAMES,
    RESUME_MUST_MATCH,
    SERVICE_NAMES,
    ResolvedSpec,
    TrainConfig,
)


def test_from_stored_fills_every_declared_default() -> None:
    stored = {"architecture": "plain", "depth": 32, "epochs": 3}
    resolved = ResolvedSpec.from_stored(stored)
    assert (resolved.architecture, resolved.depth, resolved.epochs) == ("plain", 32, 3)
    for setting in spec.settings():
        if setting.name not in LOCAL_NAMES | set(stored):
            assert getattr(resolved, setting.name) == setting.default, setting.name
    assert resolved.init_from is None
    assert resolved.num_classes == 10


def test_from_stored_keeps_every_stored_value() -> None:
    body = {"architecture": "resnet", "depth": 56, "epochs": 2, "dataset": "cifar100"}
    stored = JobRequest.model_validate({**body, "shortcut": "B", "seed": 9}).resolve()
    resolved = ResolvedSpec.from_stored(stored)
    assert {name: getattr(resolved, name) for name in stored} == stored
    assert resolved.num_classes == 100


def test_from_stored_refuses_an_undeclared_field_by_name() -> None:
    with pytest.raises(ValueError, match="colour"):
        ResolvedSpec.from_stored({"architecture": "resnet", "colour": "blue"})


def test_from_stored_makes_milestones_a_tuple() -> None:
    resolved = ResolvedSpec.from_stored({"lr_milestones": [0.3, 0.6]})
    assert resolved.lr_milestones == (0.3, 0.6)
    hash(resolved)  # frozen and hashable, like TrainConfig


def test_resolved_spec_is_frozen() -> None:
    resolved = ResolvedSpec.from_stored({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.depth = 32  # type: ignore[misc]


def test_job_settings_reach_the_trainer_unchanged() -> None:
    stored = JobRequest.model_validate(
        {"architecture": "resnet", "depth": 20, "epochs": 1, "momentum": 0.5}
    ).resolve()
    values = ResolvedSpec.from_stored(stored).job_settings()
    assert set(values) == {s.name for s in spec.api_settings()}
    assert TrainConfig(**values).momentum == 0.5


def test_field_roles_are_derived_from_the_declarations() -> None:
    assert {"init_from"} | DATASET_NAMES == SERVICE_NAMES
    assert {"data_dir", "download", "init_weights", "device", "dataset_file"} == LOCAL_NAMES
    assert not LOCAL_NAMES & {s.name for s in spec.api_settings()}
    assert set(RESUME_MUST_MATCH) == {
        "architecture",
        "depth",
        "shortcut",
        "dataset",
        "train_mode",
        "batch_size",
        "weight_decay_on",
    }
    declared = {s.name for s in spec.settings() if s.option.resume_must_match}
    assert set(RESUME_MUST_MATCH) == declared


def test_spec_fields_are_the_trainers_job_fields_plus_the_service_fields() -> None:
    resolved = {f.name for f in dataclasses.fields(ResolvedSpec)}
    trainer = {f.name for f in dataclasses.fields(TrainConfig)}
    assert resolved == (trainer - LOCAL_NAMES) | SERVICE_NAMES


def test_an_uploaded_datasets_counts_come_from_the_spec() -> None:
    """Issue 19: the class count recorded at submission, not CIFAR-10's 10 standing in."""
    stored = {"dataset": "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b", "dataset_classes": 37}
    assert ResolvedSpec.from_stored(stored).num_classes == 37
    # A job stored before the spec recorded it: CIFAR-10's count stands in, as before.
    assert ResolvedSpec.from_stored({"dataset": stored["dataset"]}).num_classes == 10
