"""GET /jobs/{id}/weights: 409 until the job has succeeded, then the file, with ETag and 304."""

from __future__ import annotations

import os
import uuid

from tests.api.conftest import Api, fail_job, start_job, succeed_job


def test_weights_before_success_are_409(api: Api) -> None:
    job_id = api.new_job()
    response = api.get(f"/jobs/{job_id}/weights")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "job is queued; weights are available once it has succeeded"
    )
    start_job(api.database_url, job_id)
    response = api.get(f"/jobs/{job_id}/weights")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "job is running; weights are available once it has succeeded",
        "fields": [],
    }


def test_weights_of_failed_job_are_409(api: Api) -> None:
    job_id = api.new_job()
    fail_job(api.database_url, job_id)
    response = api.get(f"/jobs/{job_id}/weights")
    assert response.status_code == 409
    assert "failed" in response.json()["error"]["message"]


def test_weights_download_has_file_headers(api: Api) -> None:
    job_id = api.new_job(depth=56)
    weights = os.urandom(2_500_000)  # more than two of iter_weights' 1 MiB chunks
    sha256 = succeed_job(api.database_url, job_id, weights=weights)
    response = api.get(f"/jobs/{job_id}/weights")
    assert response.status_code == 200
    assert response.content == weights
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == str(len(weights))
    assert response.headers["ETag"] == f'"{sha256}"'
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="resnet56-{job_id}.pt"'
    )


def test_weights_file_name_names_plain_nets(api: Api) -> None:
    job_id = api.new_job(architecture="plain", depth=20)
    succeed_job(api.database_url, job_id)
    disposition = api.get(f"/jobs/{job_id}/weights").headers["Content-Disposition"]
    assert disposition == f'attachment; filename="plain20-{job_id}.pt"'


def test_weights_matching_if_none_match_is_304(api: Api) -> None:
    job_id = api.new_job()
    sha256 = succeed_job(api.database_url, job_id)
    for header in (f'"{sha256}"', f'W/"{sha256}"', f'"other", "{sha256}"', "*"):
        response = api.get(f"/jobs/{job_id}/weights", headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["ETag"] == f'"{sha256}"'
    response = api.get(f"/jobs/{job_id}/weights", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200 and response.content


def test_weights_of_unknown_job_are_404(api: Api) -> None:
    assert api.get(f"/jobs/{uuid.uuid4()}/weights").status_code == 404
