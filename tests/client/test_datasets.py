"""`crs dataset upload|list|show|delete` and `Client.datasets` against the real API, a worker
of the `datasets` queue and a training worker (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.messaging.dataset_queue import DATASET_WORKER_ARGS
from testkit.dataset_files import image_bytes, image_folder_files, write_archive
from testkit.processes import VENV_BIN
from testkit.starters import service_env, wait_worker_ready
from tests.client.conftest import Service, crs

CLASSES = ["amber", "cobalt", "jade"]


@pytest.fixture(scope="module")
def datasets_worker(service: Service) -> Service:
    argv = [str(VENV_BIN / "celery"), *DATASET_WORKER_ARGS, "-n", "datasets@%h", "--loglevel=INFO"]
    env = {**service.env, "DATASET_CACHE_DIR": str(service.root / "processor")}
    wait_worker_ready(service.processes.start("datasets", argv, env=service_env(env)))
    return service


def _env(service: Service) -> dict[str, str]:
    return {"CRS_URL": service.url, "CRS_API_KEY": service.key}


def test_crs_dataset_upload_list_show_delete(datasets_worker: Service, tmp_path: Path) -> None:
    service = datasets_worker
    archive = write_archive(tmp_path / "colours.zip", image_folder_files(CLASSES, per_class=6))
    done = crs("dataset", "upload", str(archive), "--name", "colours", **_env(service))
    assert done.returncode == 0, done.stderr
    dataset_id, status = done.stdout.split()[:2]
    assert status == "ready" and "18+6 images, 3 classes" in done.stdout

    listed = crs("dataset", "list", **_env(service))
    assert listed.returncode == 0, listed.stderr
    assert "cifar10" in listed.stdout and dataset_id in listed.stdout

    shown = crs("dataset", "show", dataset_id, **_env(service))
    assert shown.returncode == 0, shown.stderr
    assert "fingerprint: " in shown.stdout
    assert all(f"{name}" in shown.stdout for name in CLASSES)

    assert crs("dataset", "delete", dataset_id, **_env(service)).returncode == 0
    gone = crs("dataset", "show", dataset_id, **_env(service))
    assert gone.returncode == 2 and "no data set" in gone.stderr


def test_crs_dataset_upload_of_a_bad_archive_exits_2_naming_the_member(
    datasets_worker: Service, tmp_path: Path
) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), "train/jade/readme.txt": b"hello"}
    archive = write_archive(tmp_path / "bad.zip", files)
    done = crs("dataset", "upload", str(archive), **_env(datasets_worker))
    assert done.returncode == 2
    assert "train/jade/readme.txt: not a PNG, JPEG or WebP image" in done.stderr


def test_client_upload_reports_bytes_and_trains_a_job_on_it(
    datasets_worker: Service, tmp_path: Path
) -> None:
    files = image_folder_files(CLASSES, per_class=10)
    files["train/amber/big.jpg"] = image_bytes(0, "JPEG", size=(64, 48))
    archive = write_archive(tmp_path / "c.tar.gz", files, "tar.gz")
    sent: list[int] = []
    with datasets_worker.client() as client:
        dataset = client.datasets.upload(archive, name="c", on_bytes=sent.append)
        assert sent[-1] == archive.stat().st_size
        dataset = client.datasets.wait(dataset["id"], timeout=120)
        assert dataset["status"] == "ready", dataset
        assert dataset["info"]["original_sizes"]["64x48"] == 1
        job = client.submit(architecture="resnet", depth=8, epochs=1, dataset=dataset["id"])
        assert job.id


def test_upload_with_wait_refuses_a_bad_archive_with_a_422_naming_the_member(
    datasets_worker: Service, tmp_path: Path
) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), "../escape.png": image_bytes(1)}
    archive = write_archive(tmp_path / "escape.tar", files, "tar")
    with datasets_worker.client() as client:
        answer = client._http.post(
            "/datasets", params={"name": "x", "wait": 60}, content=archive.read_bytes()
        )
    assert answer.status_code == 422, answer.text
    fields = answer.json()["error"]["fields"]
    assert fields[0]["field"] == "../escape.png" and "inside the archive" in fields[0]["reason"]
