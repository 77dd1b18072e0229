"""POST /jobs and POST /jobs/estimate with `dataset` = an uploaded data set's id (issue 19)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.estimate import training_work
from core.settings import Settings
from core.spec import DATASET_NAMES
from core.store.artifacts import record_throughput
from core.store.budget import compute_in_use
from core.store.db import session_scope
from core.store.tables import Job
from testkit.dataset_files import image_folder_files, write_archive
from tests.api.conftest import Api, auth, client_for, make_settings, new_key
from tests.api.test_reuse import train
from worker.dataset_processing import process_dataset

CLASSES = ["cat", "dog", "eel", "fox"]
JOB = {"architecture": "resnet", "depth": 8, "epochs": 2}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, dataset_cache_dir=tmp_path / "cache")


def _dataset(api: Api, tmp_path: Path, *, process: Settings | None) -> str:
    archive = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=6))
    answer = api.client.post(
        "/datasets", params={"name": "four"}, content=archive.read_bytes(), headers=api.headers
    )
    dataset_id: str = answer.json()["id"]
    if process is not None:
        assert process_dataset(uuid.UUID(dataset_id), process) == "ready"
    return dataset_id


def test_job_on_a_ready_dataset_is_queued_with_its_id(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    dataset_id = _dataset(api, tmp_path, process=settings)
    answer = api.post("/jobs", json={**JOB, "dataset": dataset_id})
    assert answer.status_code == 201, answer.text
    assert answer.json()["spec"]["dataset"] == dataset_id


def test_job_on_a_dataset_still_processing_is_a_422_naming_dataset(
    api: Api, tmp_path: Path
) -> None:
    dataset_id = _dataset(api, tmp_path, process=None)
    answer = api.post("/jobs", json={**JOB, "dataset": dataset_id})
    assert answer.status_code == 422
    fields = answer.json()["error"]["fields"]
    assert fields[0]["field"] == "dataset" and "processing" in fields[0]["reason"]


def test_job_on_another_owners_dataset_is_a_422(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    dataset_id = _dataset(api, tmp_path, process=settings)
    other = auth(new_key(api.database_url, "bob"))
    answer = api.client.post("/jobs", json={**JOB, "dataset": dataset_id}, headers=other)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["reason"] == f"no data set {dataset_id} of yours"


@pytest.mark.parametrize("value", ["mnist", str(uuid.UUID(int=0))])
def test_job_on_an_unknown_dataset_is_a_422_naming_dataset(api: Api, value: str) -> None:
    answer = api.post("/jobs", json={**JOB, "dataset": value})
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["error"]["fields"]] == ["dataset"]


def test_estimate_scales_by_the_datasets_image_count(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    dataset_id = _dataset(api, tmp_path, process=settings)
    with session_scope(api.database_url) as session:
        record_throughput(
            session=session,
            device="cpu",
            architecture="resnet",
            depth=8,
            batch_size=128,
            precision="fp32",
            images_per_second=100.0,
            epochs=2,
        )
    found = api.post("/jobs/estimate", json={**JOB, "dataset": dataset_id}).json()
    estimate = found["estimates"][0]
    # 4 classes x 6 training images: 24 images an epoch, not CIFAR's 50,000.
    assert estimate["seconds_per_epoch"] == pytest.approx(24 / estimate["images_per_second"])
    cifar = api.post("/jobs/estimate", json=JOB).json()["estimates"][0]
    assert cifar["seconds_per_epoch"] == pytest.approx(50_000 / cifar["images_per_second"])


def test_sweep_over_an_unready_dataset_is_a_422_naming_the_child(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    ready = _dataset(api, tmp_path, process=settings)
    waiting = _dataset(api, tmp_path, process=None)
    body = {"base": JOB, "grid": {"dataset": [ready, waiting]}}
    answer = api.post("/sweeps", json=body)
    assert answer.status_code == 422, answer.text
    field = answer.json()["error"]["fields"][0]
    assert field["field"] == "dataset" and waiting in field["reason"]
    assert api.get("/sweeps").json()["sweeps"] == []
    body = {"base": JOB, "grid": {"dataset": ["cifar10", ready]}}
    assert api.post("/sweeps", json=body).status_code == 201


def test_job_spec_records_the_datasets_fingerprint_and_counts(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    dataset_id = _dataset(api, tmp_path, process=settings)
    shown = api.get(f"/datasets/{dataset_id}").json()
    answer = api.post("/jobs", json={**JOB, "dataset": dataset_id})
    assert answer.status_code == 201, answer.text
    spec = api.get(f"/jobs/{answer.json()['id']}").json()["spec"]
    assert spec["dataset_fingerprint"] == shown["fingerprint"]
    assert len(spec["dataset_fingerprint"]) == 64
    assert spec["dataset_classes"] == len(CLASSES)
    assert (spec["dataset_train_images"], spec["dataset_test_images"]) == (
        shown["train_images"],
        shown["test_images"],
    )
    assert api.post("/jobs/estimate", json={**JOB, "dataset": dataset_id}).json()["spec"] == {
        key: spec[key] for key in api.post("/jobs/estimate", json=JOB).json()["spec"]
    } | {key: spec[key] for key in DATASET_NAMES}
    # A rerun resolves the data set again from its id: the same facts.
    rerun = api.post(f"/jobs/{answer.json()['id']}/rerun", json={"seed": 5})
    assert rerun.status_code == 201, rerun.text
    assert rerun.json()["spec"] == {**spec, "seed": 5}
    # A built-in data set's job records none of them.
    cifar = api.post("/jobs", json=JOB).json()["spec"]
    assert {cifar[key] for key in DATASET_NAMES} == {None}


def test_compute_budget_counts_an_uploaded_datasets_images(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    """A budget below one CIFAR-10 job (50,000 images an epoch) admits a job on a 24-image
    upload of the same network and epochs, and counts it by its own images."""
    budget = training_work({**JOB, "dataset": "cifar10"}) / 2
    budgeted = make_settings(
        database_url,
        tmp_path,
        dataset_cache_dir=tmp_path / "cache",
        compute_budget_flops=budget,
    )
    with client_for(budgeted) as client:
        api = Api(client, database_url, new_key(database_url))
        dataset_id = _dataset(api, tmp_path, process=settings)
        refused = api.post("/jobs", json=JOB)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "compute_budget_exceeded"
        answer = api.post("/jobs", json={**JOB, "dataset": dataset_id})
        assert answer.status_code == 201, answer.text
        with session_scope(database_url) as session:
            used, jobs = compute_in_use(session=session, owner_id=_owner(session, answer))
        assert jobs == 1
        # 24 images an epoch instead of 50,000 (and 4 classes' classifier instead of 10).
        assert used == pytest.approx(budget * 2 * 24 / 50_000, rel=1e-3)
        assert used < budget * 2 * 24 / 50_000


def _owner(session: Session, answer: Any) -> uuid.UUID:
    job = session.get(Job, uuid.UUID(answer.json()["id"]))
    assert job is not None
    return job.owner_id


def test_reuse_on_an_upload_goes_by_its_fingerprint_not_its_id(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    """Issue 19 with issue 20's reuse: the same images uploaded again (another data set id, one
    fingerprint) answer from the earlier run; a run on other data or another trainer does not."""
    first = _dataset(api, tmp_path, process=settings)
    again = _dataset(api, tmp_path, process=settings)
    assert first != again
    source = api.post("/jobs", json={**JOB, "dataset": first}).json()
    fingerprint = source["spec"]["dataset_fingerprint"]
    environment = {"dataset_fingerprint": fingerprint, "service_version": "1", "torch": "2.5.1"}
    train(api.database_url, source["id"], environment)
    for dataset_id in (first, again):
        answer = api.post("/jobs", json={**JOB, "dataset": dataset_id, "reuse": True}).json()
        assert (answer["status"], answer["reused_from"]) == ("succeeded", source["id"])
        assert answer["spec"]["dataset"] == dataset_id
    other = api.post("/jobs", json={**JOB, "dataset": first, "seed": 3, "reuse": True}).json()
    assert other["reused_from"] is None
    # A worker has since trained with another torch: the source no longer answers.
    train(api.database_url, other["id"], {**environment, "torch": "2.6.0"})
    answer = api.post("/jobs", json={**JOB, "dataset": again, "reuse": True}).json()
    assert (answer["status"], answer["reused_from"]) == ("queued", None)
