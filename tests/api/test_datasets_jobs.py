"""POST /jobs and POST /jobs/estimate with `dataset` = an uploaded data set's id (issue 19)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core.settings import Settings
from core.store.artifacts import record_throughput
from core.store.db import session_scope
from testkit.dataset_files import image_folder_files, write_archive
from tests.api.conftest import Api, auth, make_settings, new_key
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
