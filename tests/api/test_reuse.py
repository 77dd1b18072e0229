"""`reuse` on POST /jobs and /sweeps (issue 20): a hit returns a succeeded copy naming the earlier
run; any one part of the key that differs is a miss."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.store import attempts, lifecycle
from core.store.db import session_scope
from tests.api.conftest import Api, auth, broker_messages, new_key, start_job
from tests.api.sweep_runs import record

BODY = {"architecture": "resnet", "depth": 20, "epochs": 2, "learning_rate": 0.05, "seed": 1}
FILES = {"cifar-10-batches-py/data_batch_1": "a" * 64, "cifar-10-batches-py/test_batch": "b" * 64}
ENVIRONMENT = {"dataset_sha256": FILES, "service_version": "0.1.0", "torch": "2.5.1", "device": "x"}


def train(database_url: str, job_id: Any, environment: dict[str, Any] | None = None) -> str:
    """Run the job to success as a worker would, its attempt's environment recorded; the
    weights' sha256."""
    claim = start_job(database_url, uuid.UUID(str(job_id)))
    weights = f"weights of {job_id}".encode()
    sha256 = hashlib.sha256(weights).hexdigest()
    with session_scope(database_url) as session:
        attempts.record_attempt(
            session=session,
            job_id=claim.job_id,
            lease_id=claim.lease_id,
            environment=environment or ENVIRONMENT,
        )
        for epoch, accuracy in ((1, 0.7), (2, 0.8)):
            lifecycle.save_progress(
                session=session,
                job_id=claim.job_id,
                lease_id=claim.lease_id,
                checkpoint=b"c",
                epoch=epoch,
                batch=0,
                run_seconds=float(epoch),
                metrics=record(epoch, accuracy, accuracy - 0.05),
            )
        lifecycle.finish_job(
            session=session,
            job_id=claim.job_id,
            lease_id=claim.lease_id,
            weights=weights,
            sha256=sha256,
            run_seconds=2.0,
            final_test_accuracy=0.8,
            final_test_loss=0.2,
            best_test_accuracy=0.8,
            best_epoch=2,
            results={"per_class_accuracy": [0.8] * 10},
        )
    return sha256


def test_reuse_hit_is_a_succeeded_copy_naming_the_earlier_run(api: Api, tmp_path: Path) -> None:
    source = api.new_job(**BODY)
    sha256 = train(api.database_url, source)
    sent = len(broker_messages(tmp_path))
    response = api.post_job(**BODY, reuse=True)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["id"] != str(source)
    assert (job["status"], job["reused_from"]) == ("succeeded", str(source))
    assert job["final_test_accuracy"] == 0.8 and job["progress"]["epochs_done"] == 2
    assert len(broker_messages(tmp_path)) == sent  # nothing to train
    records = api.get(f"/jobs/{job['id']}/metrics").json()["records"]
    assert [r["test_accuracy"] for r in records] == [0.7, 0.8]
    assert records[1]["validation_accuracy"] == pytest.approx(0.75)
    weights = api.get(f"/jobs/{job['id']}/weights")
    assert weights.status_code == 200
    assert hashlib.sha256(weights.content).hexdigest() == sha256
    events = api.get(f"/jobs/{job['id']}/events").json()["events"]
    assert events[-1]["data"]["status"] == "succeeded"
    assert events[-1]["data"]["reused_from"] == str(source)
    # A copy is not itself a source: the next reuse names the original run.
    again = api.post_job(**BODY, reuse=True).json()
    assert again["reused_from"] == str(source)
    assert api.post_job(**BODY).json()["status"] == "queued"  # reuse is off by default


@pytest.mark.parametrize(
    "part",
    ["spec", "seed", "data fingerprint", "trainer version", "owner", "not succeeded"],
)
def test_reuse_misses_when_any_part_of_the_key_differs(api: Api, tmp_path: Path, part: str) -> None:
    source = api.new_job(**BODY)
    if part != "not succeeded":
        train(api.database_url, source)
    body, poster = dict(BODY), api
    if part == "spec":
        body["learning_rate"] = 0.1
    elif part == "seed":
        body["seed"] = 2
    elif part in ("data fingerprint", "trainer version"):
        # A worker has since run a job on other dataset files or another trainer.
        changed = dict(ENVIRONMENT)
        if part == "data fingerprint":
            changed["dataset_sha256"] = {**FILES, "cifar-10-batches-py/test_batch": "c" * 64}
        else:
            changed["torch"] = "2.6.0"
        train(api.database_url, api.new_job(**{**BODY, "seed": 9}), changed)
    elif part == "owner":
        poster = Api(api.client, api.database_url, new_key(api.database_url, "bob"))
    response = poster.post_job(**body, reuse=True)
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["reused_from"]) == ("queued", None)


def test_sweep_with_reuse_trains_only_the_new_seed(api: Api, tmp_path: Path) -> None:
    sweep = {"base": {k: v for k, v in BODY.items() if k != "seed"}, "seeds": 2}
    first = api.post("/sweeps", json=sweep).json()
    for child in first["children"]:
        train(api.database_url, child["id"])
    sent = len(broker_messages(tmp_path))
    response = api.post("/sweeps", json={**sweep, "seeds": 3, "reuse": True})
    assert response.status_code == 201, response.text
    second = response.json()
    assert second["counts"] == {"succeeded": 2, "queued": 1}
    assert len(broker_messages(tmp_path)) == sent + 1  # only seed 2 is sent
    reused = [api.get(f"/jobs/{c['id']}").json()["reused_from"] for c in second["children"]]
    assert reused == [first["children"][0]["id"], first["children"][1]["id"], None]
    report = api.get(f"/sweeps/{second['id']}/report").json()
    assert report["rows"][0]["runs_finished"] == 2


def test_reuse_inside_a_sweep_body_is_refused(api: Api) -> None:
    body = {"base": {**BODY, "reuse": True}, "seeds": 2}
    response = api.post("/sweeps", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "base.reuse"
    other = auth(new_key(api.database_url, "carol"))
    assert api.client.post("/jobs", json={**BODY, "reuse": "yes"}, headers=other).status_code == 422
