"""One 422 names every field at fault, the request model's and the deployment's bounds alike
(issue 18: `--epochs 0 --batch-size 4` named only epochs)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize("path", ["/jobs", "/jobs/estimate"])
def test_model_and_deployment_faults_are_named_together(api: Api, path: str) -> None:
    body = {"architecture": "resnet", "depth": 20, "epochs": 0, "batch_size": 4}
    answer = api.post(path, json=body)
    assert answer.status_code == 422, answer.text
    fields = [f["field"] for f in answer.json()["error"]["fields"]]
    assert fields == ["epochs", "batch_size"]


def test_a_field_the_model_refuses_is_named_once(api: Api) -> None:
    body = {"architecture": "resnet", "depth": 20, "epochs": 100000, "batch_size": "x"}
    answer = api.post("/jobs", json=body)
    assert answer.status_code == 422, answer.text
    fields = [f["field"] for f in answer.json()["error"]["fields"]]
    assert sorted(fields) == ["batch_size", "epochs"]


def _fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [f["field"] for f in answer.json()["error"]["fields"]]


def test_a_sweep_names_every_field_at_fault_at_once(api: Api) -> None:
    """Children over the epochs cap, a batch size below the deployment's least and more children
    than one sweep may make: one 422 names all three, and nothing is created."""
    body = {
        "base": {"architecture": "resnet", "depth": 20, "epochs": 100000, "batch_size": 4},
        "grid": {"seed": list(range(300))},
    }
    for query in ({}, {"dry_run": "true"}):
        answer = api.post("/sweeps", json=body, params=query)
        fields = _fields(answer)
        assert sorted(fields) == ["base.batch_size", "base.epochs", "grid"], answer.text
    assert api.get("/sweeps").json()["sweeps"] == []


def test_children_faults_are_named_together_and_once(api: Api) -> None:
    """Within the cap: every child validated, each fault named once with the first child at
    fault and how many more share it; a model fault and a deployment bound together."""
    body = {
        "base": {"architecture": "resnet", "epochs": 0},
        "grid": {"depth": [20, 21], "batch_size": [4, 128]},
        "seeds": 2,
    }
    answer = api.post("/sweeps", json=body)
    fields = _fields(answer)
    assert sorted(fields) == ["depth", "epochs", "grid.batch_size"], answer.text
    reasons = {f["field"]: f["reason"] for f in answer.json()["error"]["fields"]}
    assert "and 7 more children" in reasons["epochs"]  # all 8 children, named once
    assert '"depth": 21' in reasons["depth"]


def test_a_sweep_the_model_refuses_also_names_the_deployment_bounds(api: Api) -> None:
    body = {"base": {"architecture": "resnet", "depth": 20}, "seeds": 0, "epochs": 100000}
    assert sorted(_fields(api.post("/sweeps", json=body))) == ["epochs", "seeds"]


def test_past_the_cap_a_bad_grid_value_is_still_named(api: Api) -> None:
    body = {"base": {"architecture": "resnet", "epochs": 2}, "grid": {"depth": [20, 21]}}
    answer = api.post("/sweeps", json={**body, "grid": {**body["grid"], "seed": list(range(300))}})
    fields = _fields(answer)
    assert sorted(fields) == ["depth", "grid"], answer.text
