"""POST /jobs/{id}/cancel: at once when queued, between two batches when running, 409 after."""

from __future__ import annotations

from core.store import lifecycle
from core.store.db import session_scope
from tests.api.conftest import Api, start_job, succeed_job


def test_cancel_queued_job_is_cancelled_at_once(api: Api) -> None:
    job_id = api.new_job()
    response = api.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200
    job = response.json()
    assert (job["status"], job["cancel_requested"]) == ("cancelled", True)
    assert job["finished_at"]
    with session_scope(api.database_url) as session:
        refused = lifecycle.claim_job(
            session=session, job_id=job_id, worker="w", max_running_per_owner=5
        )
    assert refused is lifecycle.ClaimRefused.not_queued  # its message, when it comes, is dropped


def test_cancel_running_job_is_flagged_for_the_worker(api: Api) -> None:
    job_id = api.new_job()
    claim = start_job(api.database_url, job_id)
    response = api.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 202
    job = response.json()
    assert (job["status"], job["cancel_requested"]) == ("running", True)
    with session_scope(api.database_url) as session:
        assert lifecycle.heartbeat(session=session, job_id=job_id, lease_id=claim.lease_id)


def test_cancel_finished_job_is_409(api: Api) -> None:
    done = api.new_job()
    succeed_job(api.database_url, done)
    response = api.post(f"/jobs/{done}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "already succeeded" in response.json()["error"]["message"]
    cancelled = api.new_job()
    assert api.post(f"/jobs/{cancelled}/cancel").status_code == 200
    assert api.post(f"/jobs/{cancelled}/cancel").status_code == 409
