"""The optional per-owner compute budget (COMPUTE_BUDGET_FLOPS, issue 10): the training FLOPs of
an owner's queued and running jobs (epochs left x training images x FLOPs per image); a job or a
sweep past it is a 429 that says how much is in use, and nothing is created."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core.estimate import training_work
from core.store.budget import compute_in_use
from core.store.db import session_scope
from core.store.tables import Job
from tests.api.conftest import (
    SPEC,
    Api,
    client_for,
    make_settings,
    new_key,
    record_epochs,
    start_job,
    succeed_job,
)

# What one job of SPEC holds while queued: ResNet-20 (about 40.8 M multiply-adds, 81.6 MFLOP,
# forward; 3x that to train), 3 epochs of CIFAR-10's 50,000 training images.
ONE = training_work({**SPEC, "dataset": "cifar10", "shortcut": "A", "batch_size": 128})


def _api(database_url: str, tmp_path: Path, budget: float, owner: str = "alice") -> Api:
    settings = make_settings(database_url, tmp_path, compute_budget_flops=budget)
    return Api(client_for(settings), database_url, new_key(database_url, owner))


def _owner_of(database_url: str, job_id: uuid.UUID) -> uuid.UUID:
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.owner_id


def test_the_work_of_a_job_is_epochs_images_and_training_flops() -> None:
    assert pytest.approx(3 * 50_000 * 3 * 2 * 40.8e6, rel=0.01) == ONE
    assert training_work({**SPEC, "batch_size": 128}, epochs=1) == pytest.approx(ONE / 3)


def test_a_job_past_the_budget_is_429_saying_how_much_is_in_use(
    database_url: str, tmp_path: Path
) -> None:
    api = _api(database_url, tmp_path, budget=2.5 * ONE)
    with api.client:
        first, second = api.new_job(), api.new_job()
        refused = api.post_job()
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        error = refused.json()["error"]
        assert error["code"] == "compute_budget_exceeded"
        assert (
            f"your 2 queued and running jobs hold {2 * ONE:.3g} training FLOPs"
            in (error["message"])
        )
        assert f"this submission adds {ONE:.3g}" in error["message"]
        assert f"the budget is {2.5 * ONE:.3g}" in error["message"]
        assert len(api.get("/jobs").json()["jobs"]) == 2  # nothing was created

        # A smaller job still fits; another owner has a budget of their own.
        assert api.post_job(epochs=1).status_code == 201
        other = Api(api.client, database_url, new_key(database_url, "bob"))
        assert other.post_job().status_code == 201

        # A finished job holds nothing, a running one only the epochs it has left.
        succeed_job(database_url, first)
        claim = start_job(database_url, second)
        record_epochs(database_url, claim, 2)
        with session_scope(database_url) as session:
            used, jobs = compute_in_use(session=session, owner_id=_owner_of(database_url, second))
        assert jobs == 2 and used == pytest.approx(ONE / 3 + ONE / 3)
        assert api.post_job().status_code == 201


def test_a_cancelled_job_frees_its_share(database_url: str, tmp_path: Path) -> None:
    api = _api(database_url, tmp_path, budget=ONE)
    with api.client:
        job = api.new_job()
        assert api.post_job().status_code == 429
        assert api.post(f"/jobs/{job}/cancel").status_code == 200  # queued: cancelled at once
        assert api.post_job().status_code == 201


def test_a_sweep_past_the_budget_is_429_and_creates_no_child(
    database_url: str, tmp_path: Path
) -> None:
    api = _api(database_url, tmp_path, budget=2.5 * ONE)
    body = {"base": {**SPEC}, "grid": {"seed": [1, 2, 3]}}
    with api.client:
        refused = api.post("/sweeps", json=body)
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert error["code"] == "compute_budget_exceeded"
        assert f"this submission adds {3 * ONE:.3g}" in error["message"]
        assert api.get("/jobs").json()["jobs"] == []
        assert api.get("/sweeps").json()["sweeps"] == []
        body["grid"] = {"seed": [1, 2]}
        assert api.post("/sweeps", json=body).status_code == 201


def test_no_budget_by_default(database_url: str, tmp_path: Path) -> None:
    api = _api(database_url, tmp_path, budget=0)
    with api.client:
        for _ in range(5):
            assert api.post_job(depth=110, epochs=500).status_code == 201
