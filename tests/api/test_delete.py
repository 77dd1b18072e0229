"""DELETE /jobs/{id} and the storage quota: a finished job's files go, its record stays as a
tombstone (GET says so, /weights is 410), unfinished jobs are refused, and an owner over the
quota cannot submit until a job is deleted."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from api.routes.report import EXAMPLE as REPORT_EXAMPLE
from core.settings import Settings
from core.store import lifecycle
from core.store.artifacts import ONNX, REPORT, ArtifactFile, artifact_info, save_artifacts
from core.store.db import session_scope
from core.store.storage import stored_bytes
from core.store.tables import Job
from testkit.builders import finish_placeholder
from tests.api.conftest import (
    Api,
    client_for,
    fail_job,
    make_settings,
    new_key,
    start_job,
    succeed_job,
)


def _delete(api: Api, job_id: uuid.UUID) -> object:
    return api.client.delete(f"/jobs/{job_id}", headers=api.headers)


def test_delete_succeeded_job_keeps_a_tombstone_and_weights_are_gone(api: Api) -> None:
    job_id = api.new_job()
    succeed_job(api.database_url, job_id, weights=b"w" * 4096)
    response = _delete(api, job_id)
    assert response.status_code == 200, response.text
    deleted = response.json()
    assert (deleted["id"], deleted["status"], deleted["deleted"]) == (
        str(job_id),
        "succeeded",
        True,
    )
    assert deleted["deleted_at"] and deleted["deleted_reason"] == "owner"
    assert deleted["final_test_accuracy"] == 0.8  # the record stays

    read = api.get(f"/jobs/{job_id}").json()
    assert (read["status"], read["deleted"], read["deleted_at"]) == (
        "succeeded",
        True,
        deleted["deleted_at"],
    )
    assert len(api.get(f"/jobs/{job_id}/metrics").json()["records"]) == 3

    gone = api.get(f"/jobs/{job_id}/weights")
    assert gone.status_code == 410
    error = gone.json()["error"]
    assert error["code"] == "gone"
    assert f"job {job_id} was deleted by its owner at " in error["message"]
    assert "weights and other files are gone" in error["message"]


def test_delete_twice_answers_the_same(api: Api) -> None:
    job_id = api.new_job()
    fail_job(api.database_url, job_id)
    first, second = _delete(api, job_id), _delete(api, job_id)
    assert first.status_code == second.status_code == 200
    assert first.json()["deleted_at"] == second.json()["deleted_at"]
    assert second.json()["status"] == "failed"


def test_delete_of_queued_or_running_job_is_409_saying_cancel_first(api: Api) -> None:
    job_id = api.new_job()
    for state in ("queued", "running"):
        if state == "running":
            start_job(api.database_url, job_id)
        response = _delete(api, job_id)
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "conflict"
        assert error["message"] == (
            f"job {job_id} is {state}; cancel it first (POST /jobs/{job_id}/cancel), then "
            "delete it once it has ended"
        )
        assert api.get(f"/jobs/{job_id}").json()["deleted"] is False


def test_delete_after_cancel_of_queued_job(api: Api) -> None:
    job_id = api.new_job()
    assert api.post(f"/jobs/{job_id}/cancel").status_code == 200
    response = _delete(api, job_id)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["deleted"]) == ("cancelled", True)


def test_delete_of_unknown_or_another_owners_job_is_404(api: Api) -> None:
    assert _delete(api, uuid.uuid4()).status_code == 404
    job_id = api.new_job()
    succeed_job(api.database_url, job_id)
    other = {"Authorization": f"Bearer {new_key(api.database_url, owner='mallory')}"}
    response = api.client.delete(f"/jobs/{job_id}", headers=other)
    assert response.status_code == 404
    assert api.get(f"/jobs/{job_id}").json()["deleted"] is False
    assert api.get(f"/jobs/{job_id}/weights").status_code == 200


def test_delete_needs_a_key(api: Api) -> None:
    assert api.client.delete(f"/jobs/{uuid.uuid4()}").status_code == 401


def test_init_from_a_deleted_job_is_422_naming_init_from(api: Api) -> None:
    base = api.new_job()
    succeed_job(api.database_url, base)
    assert _delete(api, base).status_code == 200
    response = api.post_job(init_from=str(base))
    assert response.status_code == 422
    [field] = response.json()["error"]["fields"]
    assert (field["field"], field["reason"]) == (
        "init_from",
        f"job {base} was deleted; its weights are gone",
    )


def test_delete_of_weights_a_queued_job_starts_from_is_409(api: Api) -> None:
    base = api.new_job()
    succeed_job(api.database_url, base)
    follower = api.new_job(init_from=str(base))
    response = _delete(api, base)
    assert response.status_code == 409
    assert (
        f"job {follower} (queued) starts from the weights of job {base}"
        in (response.json()["error"]["message"])
    )
    assert api.get(f"/jobs/{base}/weights").status_code == 200


def test_list_shows_deleted_jobs_as_deleted(api: Api) -> None:
    kept, deleted = api.new_job(), api.new_job()
    for job_id in (kept, deleted):
        succeed_job(api.database_url, job_id)
    _delete(api, deleted)
    page = {job["id"]: job["deleted"] for job in api.get("/jobs").json()["jobs"]}
    assert page == {str(kept): False, str(deleted): True}


def test_submit_over_storage_quota_is_409_until_a_job_is_deleted(
    database_url: str, tmp_path: Path
) -> None:
    settings: Settings = make_settings(database_url, tmp_path, storage_quota_bytes=10_000)
    with client_for(settings) as client:
        api = Api(client, database_url, new_key(database_url))
        done = api.new_job()
        succeed_job(database_url, done, weights=b"w" * 12_000)
        response = api.post_job()
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "storage_quota_exceeded"
        assert error["message"] == (
            "your jobs store 11.7 KiB of weights, checkpoints and other files, over your quota "
            "of 9.8 KiB; free space by deleting finished jobs you no longer need "
            "(DELETE /jobs/{id}), then submit again"
        )
        with session_scope(database_url) as session:
            job = session.get(Job, done)
            assert job is not None
            assert stored_bytes(session=session, owner_id=job.owner_id) == 12_000
            assert session.query(Job).count() == 1  # nothing was created

        assert _delete(api, done).status_code == 200
        assert api.post_job().status_code == 201


# A report as the worker stores it (the route's documented example, less the job id it adds).
STORED_REPORT = {k: v for k, v in REPORT_EXAMPLE.items() if k != "job_id"}


def test_every_file_of_a_deleted_job_is_410(api: Api) -> None:
    job_id = api.new_job()
    claim = start_job(api.database_url, job_id)
    with session_scope(api.database_url) as session:
        save_artifacts(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            files={
                ONNX: ArtifactFile(b"onnx"),
                REPORT: ArtifactFile(json.dumps(STORED_REPORT).encode()),
            },
        )
    lifecycle_finish(api.database_url, claim)
    assert api.get(f"/jobs/{job_id}/report").status_code == 200
    assert _delete(api, job_id).status_code == 200
    with session_scope(api.database_url) as session:
        assert artifact_info(session=session, job_id=job_id, kind=ONNX) is None
    answers = {
        "report": api.get(f"/jobs/{job_id}/report"),
        "onnx": api.get(f"/jobs/{job_id}/weights", params={"format": "onnx"}),
        "predict": api.post(f"/jobs/{job_id}/predict", json={"images": []}),
    }
    for what, answer in answers.items():
        assert answer.status_code == 410, (what, answer.text)
        assert answer.json()["error"]["code"] == "gone"
        assert f"job {job_id} was deleted by its owner" in answer.json()["error"]["message"]


def lifecycle_finish(database_url: str, claim: lifecycle.Claim) -> None:
    with session_scope(database_url) as session:
        finish_placeholder(session, claim)
