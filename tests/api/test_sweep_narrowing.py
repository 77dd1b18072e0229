"""Presets narrowed by a grid, repeated children refused, and `POST /sweeps?dry_run=true`
(issue 18)."""

from __future__ import annotations

from pathlib import Path

from core.sweeps.presets import presets
from tests.api.conftest import Api, broker_messages

QUICK = {"architecture": "resnet", "depth": 20, "epochs": 2}


def test_grid_on_a_preset_field_selects_configurations_instead_of_crossing(api: Api) -> None:
    body = {"preset": "he2016-cifar10", "grid": {"depth": [20, 56]}, "epochs": 2}
    response = api.post("/sweeps", json=body)
    assert response.status_code == 201, response.text
    points = [c["point"] for c in response.json()["children"]]
    assert points == [
        {"architecture": "plain", "depth": 20},
        {"architecture": "plain", "depth": 56},
        {"architecture": "resnet", "depth": 20},
        {"architecture": "resnet", "depth": 56},
    ]


def test_narrowing_by_both_fields_keeps_their_intersection_crossed_with_the_rest(
    api: Api,
) -> None:
    body = {
        "preset": "he2016-cifar10",
        "seeds": 2,
        "grid": {"architecture": ["resnet"], "depth": [20, 110], "learning_rate": [0.1, 0.05]},
        "epochs": 2,
    }
    response = api.post("/sweeps?dry_run=true", json=body)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["count"] == 8  # resnet-20 and -110, x 2 learning rates x 2 seeds
    assert {(c["spec"]["depth"], c["spec"]["learning_rate"]) for c in preview["children"]} == {
        (20, 0.1),
        (20, 0.05),
        (110, 0.1),
        (110, 0.05),
    }


def test_a_value_the_preset_lacks_is_a_422_naming_the_grid_field(api: Api) -> None:
    body = {"preset": "he2016-cifar10", "grid": {"depth": [8, 20]}, "epochs": 2}
    response = api.post("/sweeps", json=body)
    assert response.status_code == 422, response.text
    (field,) = response.json()["error"]["fields"]
    assert field["field"] == "grid.depth" and "[8]" in field["reason"]
    none_left = {"preset": "he2016-cifar10", "grid": {"architecture": ["plain"], "depth": [110]}}
    response = api.post("/sweeps", json=none_left)
    assert response.status_code == 422, response.text
    assert api.get("/sweeps").json()["sweeps"] == []


def test_children_identical_in_spec_and_seed_are_refused_and_listed(api: Api) -> None:
    # Every configuration forced to depth 20: the four plain ones collapse into one network.
    body = {"preset": "he2016-cifar10", "depth": 20, "epochs": 2}
    response = api.post("/sweeps", json=body)
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert {f["field"] for f in fields} == {"grid"}
    reasons = " ".join(f["reason"] for f in fields)
    assert '"architecture": "plain"' in reasons and "4 times" in reasons
    assert '"architecture": "resnet"' in reasons and "5 times" in reasons
    same = {"base": {"epochs": 2}, "grid": {"learning_rate": [0.1, 0.1]}}
    assert api.post("/sweeps", json=same).status_code == 422
    assert api.get("/jobs").json()["jobs"] == []


def test_dry_run_answers_the_children_and_creates_nothing(api: Api, tmp_path: Path) -> None:
    body = {"preset": "he2016-cifar10", "seeds": 2, "epochs": 3}
    response = api.post("/sweeps?dry_run=true", json=body)
    assert response.status_code == 200, response.text
    preview = response.json()
    configurations = len(presets()["he2016-cifar10"].configurations)
    assert preview["dry_run"] is True and preview["count"] == 2 * configurations
    assert preview["varying"] == ["architecture", "depth", "seed"]
    assert preview["children"][0]["point"] == {"architecture": "plain", "depth": 20, "seed": 0}
    assert preview["children"][0]["spec"]["epochs"] == 3
    assert preview["training_flops"] > 0
    assert preview["estimates"] == []  # no worker has measured its throughput here
    assert api.get("/sweeps").json()["sweeps"] == []
    assert api.get("/jobs").json()["jobs"] == []
    assert broker_messages(tmp_path) == []
    bad = api.post("/sweeps?dry_run=true", json={"base": {**QUICK, "depth": 21}, "seeds": 2})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "depth"
