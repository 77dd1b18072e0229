"""An uploaded data set across hosts (issue 19): the API streams it to the store, a worker of
the `datasets` queue processes it, and two training workers with data folders and caches of
their own (two hosts, no shared disk) each fetch it and train on it; the report names its
classes, and the data set cannot be deleted while a job uses it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from sqlalchemy import select

from core.messaging.dataset_queue import DATASET_WORKER_ARGS
from core.store.attempts import attempts_of
from core.store.db import session_scope
from core.store.tables import Job, JobStatus
from testkit.dataset_files import image_folder_archive
from testkit.processes import VENV_BIN, Processes
from testkit.starters import service_env, wait_worker_ready
from tests.faults.conftest import Service

CLASSES = ["amber", "cobalt", "jade"]


def _start_dataset_worker(processes: Processes, env: dict[str, str]) -> None:
    argv = [
        str(VENV_BIN / "celery"),
        *DATASET_WORKER_ARGS,
        "-n",
        "datasets@%h",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    wait_worker_ready(processes.start("datasets", argv, env=service_env(env)))


def _running_on(service: Service, job_id: uuid.UUID) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = service.job(job_id)
        if job.status == JobStatus.running and job.worker:
            return job.worker
        assert job.status == JobStatus.queued, service.describe(job_id)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never started\n{service.describe(job_id)}")


def test_two_hosts_train_on_one_uploaded_image_folder(
    service: Service, processes: Processes, workdir: Path
) -> None:
    hosts = {name: workdir / name for name in ("host1", "host2")}
    for folder in hosts.values():
        (folder / "data").mkdir(parents=True)  # no CIFAR here: only the upload to train on
    service.api()
    _start_dataset_worker(
        processes, {**service.env, "DATASET_CACHE_DIR": str(workdir / "processor")}
    )
    for name, folder in hosts.items():
        service.worker(
            name,
            api=False,
            DATA_DIR=str(folder / "data"),
            DATASET_CACHE_DIR=str(folder / "cache"),
            JOBS_PER_GPU="1",
        )

    archive = image_folder_archive(workdir / "colours.zip", CLASSES, per_class=40, kind="zip")
    with service.client(timeout=180) as http:
        answer = http.post(
            "/datasets",
            params={"name": "colours", "filename": "colours.zip", "wait": 120},
            content=archive.read_bytes(),
        )
        assert answer.status_code == 201, answer.text
        dataset = answer.json()
        assert dataset["status"] == "ready" and dataset["class_names"] == CLASSES

        first = service.submit(dataset=dataset["id"], epochs=20)
        first_worker = _running_on(service, first)
        refused = http.delete(f"/datasets/{dataset['id']}")
        assert refused.status_code == 409 and str(first) in refused.text
        # The first host's one slot is taken: the second job goes to the other host.
        second = service.submit(dataset=dataset["id"], epochs=3)
        second_worker = _running_on(service, second)
        assert {first_worker.split("@")[0], second_worker.split("@")[0]} == set(hosts)

        for job_id in (first, second):
            done = service.wait_done(job_id, timeout=300)
            assert done.status == JobStatus.succeeded, service.describe(job_id)
            report = http.get(f"/jobs/{job_id}/report").json()
            assert report["classes"] == CLASSES
            shown = http.get(f"/jobs/{job_id}").json()
            assert shown["spec"]["dataset"] == dataset["id"]
            assert shown["spec"]["dataset_fingerprint"] == dataset["fingerprint"]
        for folder in hosts.values():
            assert (folder / "cache" / f"{dataset['fingerprint']}.npz").is_file()
        with session_scope(service.database_url) as session:
            for job_id in (first, second):
                environment = attempts_of(session=session, job_id=job_id)[-1].environment
                assert environment["dataset_fingerprint"] == dataset["fingerprint"]
            ids = session.scalars(select(Job.id).where(Job.status == JobStatus.succeeded))
            assert set(ids) == {first, second}

        # Both jobs have ended: the data set may go, and the jobs keep their record of it.
        assert http.delete(f"/datasets/{dataset['id']}").status_code == 200
        kept = http.get(f"/jobs/{first}").json()["spec"]
        assert (kept["dataset"], kept["dataset_fingerprint"]) == (
            dataset["id"],
            dataset["fingerprint"],
        )
