"""GET /jobs/{id}, /jobs/{id}/metrics and GET /jobs: what an owner sees, and only an owner."""

from __future__ import annotations

import uuid

from tests.api.conftest import Api, fail_job, new_key, record_epochs, start_job, succeed_job


def test_read_queued_job_shows_spec_and_links(api: Api) -> None:
    job_id = api.new_job(depth=56, epochs=164)
    job = api.get(f"/jobs/{job_id}").json()
    assert job["id"] == str(job_id)
    assert (job["status"], job["attempts"], job["cancel_requested"]) == ("queued", 0, False)
    assert job["spec"]["depth"] == 56
    assert job["links"] == {
        "self": f"/jobs/{job_id}",
        "metrics": f"/jobs/{job_id}/metrics",
        "weights": f"/jobs/{job_id}/weights",
        "cancel": f"/jobs/{job_id}/cancel",
        "sweep": None,  # a job of its own; a sweep's child links its sweep
    }
    assert job["sweep_id"] is None and job["sweep_point"] is None
    assert job["created_at"].endswith("Z") or "+00:00" in job["created_at"]


def test_read_running_job_shows_progress_and_latest_metrics(api: Api) -> None:
    job_id = api.new_job(epochs=4)
    claim = start_job(api.database_url, job_id)
    record_epochs(api.database_url, claim, 2)
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "running" and job["attempts"] == 1 and job["started_at"]
    progress = job["progress"]
    assert progress | {"epochs_done": 2, "epochs": 4, "fraction": 0.5} == progress
    assert job["latest_metrics"]["epoch"] == 2
    assert job["final_test_accuracy"] is None and job["best_on_test_set"] is None


def test_read_succeeded_job_shows_final_best_and_results(api: Api) -> None:
    job_id = api.new_job()
    succeed_job(api.database_url, job_id)
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["finished_at"]
    assert job["progress"]["fraction"] == 1.0
    assert (job["final_test_accuracy"], job["final_test_loss"]) == (0.8, 0.6)
    best = job["best_on_test_set"]
    assert (best["test_accuracy"], best["epoch"]) == (0.81, 2)
    assert "selected on the test set" in best["description"]
    assert len(job["results"]["confusion_matrix"]) == 10
    assert job["error"] is None


def test_read_failed_job_shows_error(api: Api) -> None:
    job_id = api.new_job()
    fail_job(api.database_url, job_id)
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["error"] == {
        "code": "out_of_memory",
        "message": "CUDA out of memory; try a smaller batch_size",
    }
    assert job["results"] is None


def test_read_other_owners_job_is_404_like_a_missing_one(api: Api) -> None:
    job_id = api.new_job()
    bob = Api(api.client, api.database_url, new_key(api.database_url, "bob"))
    for path in ("", "/metrics", "/weights"):
        response = bob.get(f"/jobs/{job_id}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"] == {
            "code": "not_found",
            "message": f"no job {job_id}",
            "fields": [],
        }
    assert bob.post(f"/jobs/{job_id}/cancel").status_code == 404
    missing = uuid.uuid4()
    assert bob.get(f"/jobs/{missing}").json()["error"]["message"] == f"no job {missing}"
    assert bob.get("/jobs").json() == {"jobs": [], "next_cursor": None}


def test_read_malformed_id_is_422_naming_job_id(api: Api) -> None:
    for path in ("/jobs/42", "/jobs/not-a-uuid/metrics", "/jobs/x/weights"):
        response = api.get(path)
        assert response.status_code == 422, path
        field = response.json()["error"]["fields"][0]
        assert (field["field"], field["in"]) == ("job_id", "path")
    assert api.post("/jobs/42/cancel").status_code == 422


def test_read_metrics_are_in_epoch_order(api: Api) -> None:
    job_id = api.new_job(epochs=5)
    assert api.get(f"/jobs/{job_id}/metrics").json() == {"job_id": str(job_id), "records": []}
    claim = start_job(api.database_url, job_id)
    record_epochs(api.database_url, claim, 5)
    records = api.get(f"/jobs/{job_id}/metrics").json()["records"]
    assert [record["epoch"] for record in records] == [1, 2, 3, 4, 5]
    assert set(records[0]) == {
        "epoch",
        "train_loss",
        "train_accuracy",
        "test_loss",
        "test_accuracy",
        "learning_rate",
        "seconds",
        "images_per_second",
        "validation_loss",
        "validation_accuracy",
    }


def test_list_pages_newest_first_until_next_cursor_is_null(api: Api) -> None:
    made = [str(api.new_job()) for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/jobs", params=params).json()
        pages += 1
        seen += [job["id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == made[::-1]


def test_list_shows_latest_metrics_of_each_job(api: Api) -> None:
    first, second = api.new_job(epochs=5), api.new_job(epochs=5)
    record_epochs(api.database_url, start_job(api.database_url, first), 3)
    record_epochs(api.database_url, start_job(api.database_url, second), 1)
    jobs = {job["id"]: job for job in api.get("/jobs").json()["jobs"]}
    assert jobs[str(first)]["latest_metrics"]["epoch"] == 3
    assert jobs[str(second)]["latest_metrics"]["epoch"] == 1


def test_list_status_filter_keeps_matching_jobs(api: Api) -> None:
    queued, running = api.new_job(), api.new_job()
    start_job(api.database_url, running)
    cancelled = api.new_job()
    assert api.post(f"/jobs/{cancelled}/cancel").status_code == 200
    for status, expected in (("queued", queued), ("running", running), ("cancelled", cancelled)):
        jobs = api.get("/jobs", params={"status": status}).json()["jobs"]
        assert [job["id"] for job in jobs] == [str(expected)], status
    assert api.get("/jobs", params={"status": "succeeded"}).json()["jobs"] == []


def test_list_bad_parameters_are_422_naming_them(api: Api) -> None:
    cases = [
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),  # base64 of "not a cursor"
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "x" * 500}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "sleeping"}, "status"),
    ]
    for params, named in cases:
        response = api.get("/jobs", params=params)
        assert response.status_code == 422, params
        field = response.json()["error"]["fields"][0]
        assert (field["field"], field["in"]) == (named, "query"), params


def test_unknown_route_and_method_get_the_error_shape(api: Api) -> None:
    response = api.get("/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = api.client.delete("/jobs", headers=api.headers)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
