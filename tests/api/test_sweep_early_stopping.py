"""`early_stopping` on POST /sweeps (issue 20): refused on the test set and without a validation
split; a stopped child shows its rung, is not retried, and its sweep counts it as ended."""

from __future__ import annotations

from typing import Any

import pytest

from core.store import lifecycle
from core.store.db import session_scope
from core.store.tables import JobStatus
from tests.api.conftest import Api
from tests.api.sweep_runs import finish, run_epochs

BASE = {"architecture": "resnet", "depth": 20, "epochs": 9, "validation_images": 5000}
BODY = {
    "base": BASE,
    "grid": {"learning_rate": [0.01, 0.1]},
    "early_stopping": {"rule": "asha", "grace_epochs": 1},
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"early_stopping": {"rule": "asha", "metric": "test_error"}}, "early_stopping.metric"),
        ({"base": {**BASE, "validation_images": 0}}, "early_stopping"),
        ({"early_stopping": {"rule": "hyperband"}}, "early_stopping.rule"),
        (
            {"early_stopping": {"rule": "asha", "reduction_factor": 1}},
            "early_stopping.reduction_factor",
        ),
        ({"early_stopping": {"rule": "asha", "patience": 3}}, "early_stopping.patience"),
    ],
)
def test_bad_early_stopping_is_a_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = api.post("/sweeps", json={**BODY, **change})
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert fields[0]["field"] == field, fields
    if field == "early_stopping.metric":
        assert "test set" in fields[0]["reason"]
    assert api.get("/sweeps").json()["sweeps"] == []


def test_stopped_child_shows_its_rung_and_is_not_retried(api: Api) -> None:
    response = api.post("/sweeps", json=BODY)
    assert response.status_code == 201, response.text
    sweep = response.json()
    kept, stopped = (c["id"] for c in sweep["children"])
    finish(api.database_url, kept, test=[0.8] * 9, validation=[0.8] * 9)
    claim = run_epochs(api.database_url, stopped, test=[0.5, 0.55, 0.6], validation=[0.5, 0.5, 0.5])
    decision = {"rule": "asha", "epoch": 3, "rung": 1, "rung_epoch": 3, "reason": "ASHA: ..."}
    with session_scope(api.database_url) as session:
        lifecycle.finish_job(
            session=session,
            job_id=claim.job_id,
            lease_id=claim.lease_id,
            weights=b"weights after epoch 3",
            sha256="1" * 64,
            run_seconds=3.0,
            final_test_accuracy=0.6,
            final_test_loss=0.4,
            best_test_accuracy=0.6,
            best_epoch=3,
            results={"early_stopping": decision},
            status=JobStatus.stopped,
        )
    view = api.get(f"/sweeps/{sweep['id']}").json()
    assert view["counts"] == {"succeeded": 1, "stopped": 1}
    assert view["progress"]["finished"] == 2
    assert view["progress"]["fraction"] == 1.0  # the stopped child ran all it will
    child = view["children"][1]
    assert (child["status"], child["epochs_done"]) == ("stopped", 3)
    assert child["early_stopping"]["rung"] == 1 and child["final_test_error"] is None
    job = api.get(f"/jobs/{stopped}").json()
    assert job["status"] == "stopped"
    assert job["results"]["early_stopping"]["reason"] == "ASHA: ..."  # why it stopped
    assert api.get(f"/jobs/{stopped}/weights").content == b"weights after epoch 3"
    # What this stopped child lacks (its exports were never stored) is named as such.
    rule = "job was stopped early by its sweep's rule, and"
    lacking = {
        f"/jobs/{stopped}/report": f"{rule} the job has no report",
        f"/jobs/{stopped}/weights?format=onnx": f"{rule} has no onnx file (its exports failed)",
    }
    for path, message in lacking.items():
        answer = api.get(path)
        assert (answer.status_code, answer.json()["error"]["message"]) == (409, message), path
    predicted = api.post(f"/jobs/{stopped}/predict", json={"images": [[[[0, 0, 0]] * 32] * 32]})
    assert predicted.status_code == 409, predicted.text
    assert predicted.json()["error"]["message"] == (
        f"{rule} the job has no ONNX export to predict with"
    )
    assert api.post(f"/sweeps/{sweep['id']}/retry").json()["retried"] == []
    report = api.get(f"/sweeps/{sweep['id']}/report").json()
    assert [(r["runs_finished"], r["runs_stopped"]) for r in report["rows"]] == [(1, 0), (0, 1)]
    assert report["selection"]["on_validation"]["configuration"] == {"learning_rate": 0.01}
