"""The end-to-end tests' world: generated CIFAR-10 files, HTTP helpers for a running API."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.store.db import session_scope
from core.store.keys import create_key
from core.store.migrate import upgrade
from testkit.builders import SPEC, TEST_PER_CLASS, TRAIN_PER_CLASS, make_settings, worker_env
from testkit.cifar_files import write_cifar10
from testkit.processes import Proc, Processes
from testkit.servers import RedisServer
from testkit.services import fresh_postgres_database
from testkit.starters import start_api, start_worker, wait_worker_ready

# The body of POST /jobs for the tiny ResNet-8 job (the API fills in the rest as in SPEC).
REQUEST = {
    key: SPEC[key]
    for key in ("architecture", "depth", "epochs", "batch_size", "learning_rate", "seed")
}
TERMINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
    return root


def client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0)


@dataclass
class Deployment:
    """The production set-up, running: a client with an API key of owner `e2e`."""

    http: httpx.Client
    api: Proc
    worker: Proc
    processes: Processes
    data_dir: Path
    broker_url: str
    database_url: str = ""

    def diagnose(self) -> str:
        return self.processes.diagnose()


@contextmanager
def deployed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Deployment]:
    """PostgreSQL (a fresh database), a Redis server of its own (a database index on the shared
    one is one other tests and benchmarks may pick too), one worker and the API, all started here
    and stopped before the database is dropped."""
    processes = Processes(tmp_path_factory.mktemp("e2e-logs"))
    try:
        redis_server = RedisServer(processes, tmp_path_factory.mktemp("redis"))
        redis_server.start()
        broker = redis_server.url()
        with fresh_postgres_database() as url:
            upgrade(url)
            env = worker_env(make_settings(url, data_dir, broker_url=broker))
            worker = start_worker(processes, "worker", env)
            api, base_url = start_api(processes, env)
            wait_worker_ready(worker)
            with session_scope(url) as session:
                _, key = create_key(session=session, owner_name="e2e")
            with client(base_url, key) as http:
                yield Deployment(http, api, worker, processes, data_dir, broker, url)
            processes.stop_all()
    finally:
        processes.stop_all()


def submit(http: httpx.Client, **fields: Any) -> uuid.UUID:
    answer = http.post("/jobs", json={**REQUEST, **fields})
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


def wait_job(
    http: httpx.Client,
    job_id: uuid.UUID,
    statuses: tuple[str, ...] = TERMINAL,
    *,
    timeout: float = 180,
    diagnose: Any = None,
) -> dict[str, Any]:
    """Poll GET /jobs/{id} until its status is one of `statuses`; the job as answered."""
    deadline = time.monotonic() + timeout
    while True:
        answer = http.get(f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            details = diagnose() if diagnose is not None else ""
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s\n{details}")
        time.sleep(0.1)


def check_trained_job(
    http: httpx.Client, job_id: uuid.UUID, job: dict[str, Any], data: Path
) -> None:
    """One metrics record per epoch, and weights that score on the test files what the job says."""
    import torch

    from core.trainer.data import load_cifar
    from core.trainer.evaluation import evaluate
    from core.trainer.models import build_model

    assert job["status"] == "succeeded", job
    epochs = job["spec"]["epochs"]
    assert job["progress"]["epochs_done"] == epochs
    records = http.get(f"/jobs/{job_id}/metrics").json()["records"]
    assert [r["epoch"] for r in records] == list(range(1, epochs + 1))
    assert records[-1]["test_accuracy"] == pytest.approx(job["final_test_accuracy"])

    answer = http.get(f"/jobs/{job_id}/weights")
    assert answer.status_code == 200
    state = torch.load(io.BytesIO(answer.content), weights_only=True)
    model = build_model(job["spec"]["architecture"], job["spec"]["depth"], 10)
    model.load_state_dict(state)
    cifar = load_cifar(data, "cifar10")
    measured = evaluate(model, cifar.test_images, cifar.test_labels)
    assert measured.accuracy == pytest.approx(job["final_test_accuracy"], abs=1e-6)
    assert job["results"]["per_class_accuracy"] == pytest.approx(measured.per_class_accuracy)
