"""POST /sweeps/{id}/retry: new attempts of failed and cancelled points, one report (issue 20)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core.store.db import session_scope
from core.store.tables import Job, JobStatus
from tests.api.conftest import Api, auth, broker_messages, client_for, make_settings, new_key
from tests.api.sweep_runs import fail, finish

BODY = {"base": {"architecture": "resnet", "depth": 20, "epochs": 2}, "seeds": 4}


def test_retry_requeues_failed_and_cancelled_points_only(api: Api, tmp_path: Path) -> None:
    sweep = api.post("/sweeps", json=BODY).json()
    done, failed, cancelled, queued = (c["id"] for c in sweep["children"])
    finish(api.database_url, done, test=[0.8, 0.9])
    fail(api.database_url, failed)
    assert api.post(f"/jobs/{cancelled}/cancel").status_code == 200
    sent = len(broker_messages(tmp_path))

    response = api.post(f"/sweeps/{sweep['id']}/retry")
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["retried"]) == 2
    assert len(broker_messages(tmp_path)) == sent + 2
    children = body["sweep"]["children"]
    # One child per point, in the grid's order: the retries stand where the old ones stood.
    assert [c["point"]["seed"] for c in children] == [0, 1, 2, 3]
    assert [c["id"] for c in children][0::3] == [done, queued]
    assert {children[1]["id"], children[2]["id"]} == set(body["retried"])
    assert body["sweep"]["counts"] == {"succeeded": 1, "queued": 3}
    assert body["sweep"]["progress"]["total"] == 4
    new = api.get(f"/jobs/{children[1]['id']}").json()
    old = api.get(f"/jobs/{failed}").json()
    assert new["rerun_of"] == failed and new["spec"] == old["spec"]
    assert new["sweep_point"] == old["sweep_point"] and new["sweep_id"] == sweep["id"]
    assert old["status"] == "failed"  # the failed attempt is kept, with its error

    finish(api.database_url, children[1]["id"], test=[0.7, 0.92])
    report = api.get(f"/sweeps/{sweep['id']}/report").json()
    (row,) = report["rows"]
    assert (row["runs_finished"], row["runs_total"]) == (2, 4)
    assert row["final_error"]["mean"] == pytest.approx(0.09)  # 10 % and 8 %, as fractions
    assert api.get(f"/sweeps/{sweep['id']}/figure").status_code == 200

    again = api.post(f"/sweeps/{sweep['id']}/retry").json()
    assert again["retried"] == []  # nothing failed since


def test_retry_fails_the_new_attempt_again_and_retries_it(api: Api) -> None:
    sweep = api.post("/sweeps", json={**BODY, "seeds": 2}).json()
    first = sweep["children"][0]["id"]
    fail(api.database_url, first)
    (second,) = api.post(f"/sweeps/{sweep['id']}/retry").json()["retried"]
    fail(api.database_url, second)
    (third,) = api.post(f"/sweeps/{sweep['id']}/retry").json()["retried"]
    children = api.get(f"/sweeps/{sweep['id']}").json()["children"]
    assert children[0]["id"] == str(third)
    assert api.get(f"/jobs/{third}").json()["rerun_of"] == str(second)


def test_retry_of_a_cancelled_sweep_runs_again(api: Api) -> None:
    sweep = api.post("/sweeps", json=BODY).json()
    assert api.post(f"/sweeps/{sweep['id']}/cancel").json()["counts"] == {"cancelled": 4}
    body = api.post(f"/sweeps/{sweep['id']}/retry").json()
    assert len(body["retried"]) == 4
    assert body["sweep"]["cancel_requested"] is False
    assert body["sweep"]["counts"] == {"queued": 4}


def test_another_owners_sweep_cannot_be_retried(api: Api) -> None:
    sweep = api.post("/sweeps", json=BODY).json()
    fail(api.database_url, sweep["children"][0]["id"])
    other = auth(new_key(api.database_url, "bob"))
    response = api.client.post(f"/sweeps/{sweep['id']}/retry", headers=other)
    assert response.status_code == 404
    with session_scope(api.database_url) as session:
        statuses = [
            j.status for j in session.query(Job).filter(Job.sweep_id == uuid.UUID(sweep["id"]))
        ]
    assert statuses.count(JobStatus.queued) == 3 and len(statuses) == 4


def test_retry_past_the_queued_cap_is_a_429(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_queued_per_owner=1)
    with client_for(settings) as client:
        api = Api(client, database_url, new_key(database_url))
        sweep = api.post("/sweeps", json=BODY).json()
        fail(database_url, sweep["children"][0]["id"])
        assert api.post_job().status_code == 429  # the sweep is one queued unit
        for child in sweep["children"][1:]:
            finish(database_url, child["id"], test=[0.8, 0.9])
        assert api.new_job()  # the sweep no longer queues: room for one
        response = api.post(f"/sweeps/{sweep['id']}/retry")
        assert response.status_code == 429, response.text
        assert api.get(f"/sweeps/{sweep['id']}").json()["counts"]["failed"] == 1  # none made
