"""A sweep's size is counted from its lengths before anything is expanded (issue 17, item 1)."""

from __future__ import annotations

import pytest

from core.sweeps.expand import child_count, expand
from tests.api.conftest import Api
from tests.api.meter import cost

BASE = {"architecture": "resnet", "depth": 20, "epochs": 2}
# 10**8 points from a body of about 500 bytes: eight fields of ten values.
HUGE_GRID = {
    "learning_rate": [0.01 * i for i in range(1, 11)],
    "momentum": [0.05 * i for i in range(1, 11)],
    "weight_decay": [1e-5 * i for i in range(1, 11)],
    "batch_size": [16 * i for i in range(1, 11)],
    "seed": list(range(10)),
    "epochs": list(range(1, 11)),
    "bn_eps": [1e-5 * i for i in range(1, 11)],
    "step_epochs": list(range(1, 11)),
}


def test_child_count_comes_from_the_lengths() -> None:
    assert child_count(HUGE_GRID) == 10**8
    assert child_count({"a": [1, 2]}, search={"b": {"choice": [1]}}, trials=7) == 14
    lazy = expand(BASE, grid=HUGE_GRID)
    assert next(lazy).point["seed"] == 0  # one child, without building the other 10**8 - 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_grid_of_1e8_points_is_refused_fast_and_small(api: Api) -> None:
    api.post("/sweeps", json={"base": BASE, "grid": {"depth": [20, 56]}})  # warm the route
    with cost() as reading:
        response = api.post("/sweeps", json={"base": BASE, "grid": HUGE_GRID})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == "grid"
    assert reading.seconds < 0.05, reading
    assert reading.grown_mib < 5, reading


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_trials_are_bounded_and_counted(api: Api) -> None:
    search = {"learning_rate": {"uniform": [0.01, 0.1]}}
    body = {"base": BASE, "search": search, "trials": 10**6}
    response = api.post("/sweeps", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "trials"
    with cost() as reading:
        response = api.post("/sweeps", json={**body, "trials": 5000})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "trials"
    assert reading.grown_mib < 5, reading
