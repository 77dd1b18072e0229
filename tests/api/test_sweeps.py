"""POST /sweeps and what it makes: children, report, figure, cancel (issue 10)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.store import lifecycle
from core.store.db import session_scope
from core.store.tables import Job
from tests.api.conftest import (
    Api,
    broker_messages,
    make_settings,
    new_key,
    record_epochs,
    start_job,
)

QUICK = {"architecture": "resnet", "depth": 20, "epochs": 2}
LR = "search.learning_rate"
HOOK = "base.webhook_url"


def test_preset_with_seeds_makes_every_configuration_once_per_seed(
    api: Api, tmp_path: Path
) -> None:
    response = api.post("/sweeps", json={"preset": "he2016-cifar10", "seeds": 3, "epochs": 30})
    assert response.status_code == 201, response.text
    sweep = response.json()
    assert sweep["progress"]["total"] == 27 and sweep["counts"] == {"queued": 27}
    assert sweep["varying"] == ["architecture", "depth", "seed"]
    points = [c["point"] for c in sweep["children"]]
    assert points[0] == {"architecture": "plain", "depth": 20, "seed": 0}
    assert points[-1] == {"architecture": "resnet", "depth": 110, "seed": 2}
    assert len(broker_messages(tmp_path)) == 27  # each child sent
    child = api.get(f"/jobs/{sweep['children'][-1]['id']}").json()
    assert child["spec"]["epochs"] == 30  # the override won over the preset's 164
    assert child["sweep_id"] == sweep["id"]
    assert child["sweep_point"] == {"architecture": "resnet", "depth": 110, "seed": 2}
    assert child["links"]["sweep"] == f"/sweeps/{sweep['id']}"
    assert child["spec"]["seed"] == 2


def test_invalid_child_is_named_by_its_grid_values_and_nothing_is_created(api: Api) -> None:
    body = {"base": QUICK, "grid": {"depth": [20, 21], "learning_rate": [0.1]}}
    response = api.post("/sweeps", json=body)
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["field"] for f in fields] == ["depth"]
    assert '"depth": 21' in fields[0]["reason"]
    assert api.get("/jobs").json()["jobs"] == []
    assert api.get("/sweeps").json()["sweeps"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"preset": "he2017"}, "preset"),
        ({"base": QUICK}, "grid"),  # nothing to sweep
        ({"base": QUICK, "grid": {"colour": ["red"]}}, "grid.colour"),
        ({"base": QUICK, "grid": {"depth": []}}, "grid.depth"),
        ({"base": QUICK, "grid": {"depth": [20]}, "colour": 1}, "colour"),
        (
            {"base": QUICK, "search": {"learning_rate": {"gaussian": [0, 1]}}},
            "search.learning_rate",
        ),
        (
            {"base": QUICK, "search": {"learning_rate": {"log_uniform": [0, 1]}}},
            "search.learning_rate",
        ),
        ({"base": QUICK, "grid": {"seed": list(range(300))}}, "grid"),  # over 256 children
        ({"base": QUICK, "grid": {"seed": [0, 1]}, "seeds": 2}, "seeds"),
        (
            {"base": {**QUICK, "webhook_url": "https://example.org/"}, "seeds": 2},
            "base.webhook_url",
        ),
        ({"base": QUICK, "seeds": 2, "max_parallel": 0}, "max_parallel"),
    ],
)
def test_bad_sweep_is_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/sweeps", json=body)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["fields"]]


def test_random_search_is_repeatable_with_its_seed(api: Api) -> None:
    body = {
        "base": QUICK,
        "grid": {"depth": [20, 32]},
        "search": {
            "learning_rate": {"log_uniform": [0.01, 0.5]},
            "batch_size": {"int_uniform": [64, 256]},
            "momentum": {"choice": [0.8, 0.9]},
        },
        "trials": 3,
        "search_seed": 7,
    }
    first = api.post("/sweeps", json=body).json()
    second = api.post("/sweeps", json=body).json()
    assert first["progress"]["total"] == 6
    points = [c["point"] for c in first["children"]]
    assert points == [c["point"] for c in second["children"]]
    assert all(0.01 <= p["learning_rate"] <= 0.5 for p in points)
    assert all(64 <= p["batch_size"] <= 256 for p in points)
    other = api.post("/sweeps", json={**body, "search_seed": 8}).json()
    assert [c["point"] for c in other["children"]] != points


def test_idempotency_key_returns_the_same_sweep(api: Api) -> None:
    body = {"base": QUICK, "seeds": 2}
    headers = {"Idempotency-Key": "sweep-1"}
    first = api.post("/sweeps", json=body, headers=headers)
    again = api.post("/sweeps", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = api.post("/sweeps", json={**body, "seeds": 3}, headers=headers)
    assert other.status_code == 422


def test_a_sweep_counts_as_one_against_the_queued_cap(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_queued_per_owner=2)
    api = Api(TestClient(create_app(settings)), database_url, new_key(database_url))
    assert api.post("/sweeps", json={"base": QUICK, "seeds": 10}).status_code == 201
    assert api.post_job().status_code == 201
    refused = api.post_job()
    assert refused.status_code == 429, refused.text


def test_cancel_stops_every_unfinished_child(api: Api) -> None:
    sweep = api.post("/sweeps", json={"base": QUICK, "seeds": 3}).json()
    running = uuid.UUID(sweep["children"][0]["id"])
    start_job(api.database_url, running)
    response = api.post(f"/sweeps/{sweep['id']}/cancel")
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["cancel_requested"] is True
    assert after["counts"] == {"running": 1, "cancelled": 2}
    assert api.get(f"/jobs/{running}").json()["cancel_requested"] is True


def _finish(database_url: str, job_id: str, accuracies: list[float]) -> None:
    claim = start_job(database_url, uuid.UUID(job_id))
    record_epochs(database_url, claim, len(accuracies))
    with session_scope(database_url) as session:
        # Overwrite the generated records' test accuracy with the wanted curve.
        from core.store.tables import EpochRecord

        for record in session.query(EpochRecord).filter(EpochRecord.job_id == claim.job_id):
            record.test_accuracy = accuracies[record.epoch - 1]
        session.commit()
        lifecycle.finish_job(
            session=session,
            job_id=claim.job_id,
            lease_id=claim.lease_id,
            weights=b"w",
            sha256="0" * 64,
            run_seconds=1.0,
            final_test_accuracy=accuracies[-1],
            final_test_loss=0.5,
            best_test_accuracy=max(accuracies),
            best_epoch=accuracies.index(max(accuracies)) + 1,
            results={},
        )


def test_report_sets_each_configuration_beside_the_paper(api: Api) -> None:
    body = {"base": {"architecture": "resnet", "epochs": 2}, "grid": {"depth": [20, 32]}}
    sweep = api.post("/sweeps", json={**body, "seeds": 2}).json()
    children = sweep["children"]  # depth 20 seeds 0, 1; depth 32 seeds 0, 1
    _finish(api.database_url, children[0]["id"], [0.80, 0.90])  # final error 10 %
    _finish(api.database_url, children[1]["id"], [0.85, 0.92])  # final error 8 %
    _finish(api.database_url, children[2]["id"], [0.70, 0.91])  # depth 32: one run of two
    report = api.get(f"/sweeps/{sweep['id']}/report").json()
    first, second = report["rows"]
    assert first["configuration"] == {"depth": 20}
    assert (first["runs_finished"], first["runs_total"]) == (2, 2)
    # JSON errors are fractions (issue 18); people read % in the Markdown, CSV and figure.
    assert report["definitions"]["unit"] == "fraction"
    assert first["final_error"]["mean"] == pytest.approx(0.09)
    assert first["final_error"]["std"] == pytest.approx(0.02**0.5 / 10, abs=1e-6)  # 0.10, 0.08
    assert (first["final_error"]["min"], first["final_error"]["max"]) == pytest.approx((0.08, 0.1))
    assert first["best_on_test_set_error"]["mean"] == pytest.approx(0.09)
    assert first["reference"]["error"] == 0.0875 and first["reference"]["source"] == "he2016"
    assert first["reference"]["difference"] == pytest.approx(0.0025)
    assert first["curves"]["test_error"] == pytest.approx([0.175, 0.09])
    assert (second["runs_finished"], second["runs_total"]) == (1, 2)
    assert second["reference"]["error"] == 0.0751

    markdown = api.get(f"/sweeps/{sweep['id']}/report", params={"format": "md"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    table_row = "| ResNet | 20 | 8.75 | he2016 | 9.00 ± 1.41 | 9.00 ± 1.41 | +0.25 | 2/2 |"
    assert table_row in markdown.text  # in %, from the fractions
    saved = api.get(f"/sweeps/{sweep['id']}/report", params={"format": "csv"})
    assert saved.headers["content-disposition"] == (
        f'attachment; filename="sweep-{sweep["id"]}-report.csv"'
    )
    table = list(csv.DictReader(io.StringIO(saved.text)))
    assert table[0]["final_error_mean_pct"] == "9.0" and table[1]["runs_finished"] == "1"

    png = api.get(f"/sweeps/{sweep['id']}/figure")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    svg = api.get(f"/sweeps/{sweep['id']}/figure", params={"format": "svg"})
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    assert svg.headers["content-disposition"].endswith('-figure6.svg"')

    listed = api.get(f"/sweeps/{sweep['id']}").json()["children"]
    assert listed[0]["final_test_error"] == pytest.approx(0.10)


def test_another_owners_sweep_is_not_found(api: Api) -> None:
    sweep = api.post("/sweeps", json={"base": QUICK, "seeds": 2}).json()
    other = Api(api.client, api.database_url, new_key(api.database_url, "mallory"))
    for path in ("", "/report", "/figure"):
        assert other.get(f"/sweeps/{sweep['id']}{path}").status_code == 404
    assert other.post(f"/sweeps/{sweep['id']}/cancel").status_code == 404
    with session_scope(api.database_url) as session:
        jobs = session.query(Job).filter(Job.sweep_id == uuid.UUID(sweep["id"])).all()
        assert {job.status.value for job in jobs} == {"queued"}


def test_presets_list_what_they_expand_to(api: Api) -> None:
    presets = {p["name"]: p for p in api.get("/sweeps/presets").json()["presets"]}
    he = presets["he2016-cifar10"]
    assert [(c["architecture"], c["depth"]) for c in he["configurations"]][-1] == ("resnet", 110)
    keras = presets["seed002-keras"]
    assert keras["base"]["epochs"] == 250 and keras["base"]["nesterov"] is True
    response = api.post("/sweeps", json={"preset": "seed002-keras", "epochs": 1})
    assert response.status_code == 201, response.text
