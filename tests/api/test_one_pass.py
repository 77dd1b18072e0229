"""One 422 names every field at fault, the request model's and the deployment's bounds alike
(issue 18: `--epochs 0 --batch-size 4` named only epochs)."""

from __future__ import annotations

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
