"""Issue 11 end to end with real processes (PostgreSQL, Redis, uvicorn, a Celery worker): a
frozen_base job on CIFAR-100 leaves its CIFAR-10 base untouched, and a rerun with the same seed
gives the same metrics and weights on the CPU."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
import torch

from core.trainer.layers import CLASSIFIER
from testkit.builders import TEST_PER_CLASS, TRAIN_PER_CLASS
from testkit.cifar_files import write_cifar10, write_cifar100
from testkit.processes import Processes
from tests.e2e.conftest import deployed, submit, wait_job

pytestmark = pytest.mark.slow

TIMING = ("seconds", "images_per_second")  # wall-clock figures, never reproducible


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Processes]]:
    data = tmp_path_factory.mktemp("cifar-both")
    write_cifar10(data, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
    write_cifar100(data, train_per_class=2, test_per_class=1)
    with deployed(tmp_path_factory, data) as running:
        yield running.http, running.processes


def _weights(http: httpx.Client, job_id: object) -> dict[str, torch.Tensor]:
    answer = http.get(f"/jobs/{job_id}/weights")
    assert answer.status_code == 200, answer.text
    state: dict[str, torch.Tensor] = torch.load(io.BytesIO(answer.content), weights_only=True)
    return state


def _succeeded(http: httpx.Client, processes: Processes, job_id: object) -> dict:
    job = wait_job(http, job_id, diagnose=processes.diagnose)  # type: ignore[arg-type]
    assert job["status"] == "succeeded", (job.get("error"), processes.diagnose())
    return job


def test_frozen_base_on_cifar100_keeps_the_cifar10_base(
    service: tuple[httpx.Client, Processes],
) -> None:
    http, processes = service
    base_id = submit(http)
    _succeeded(http, processes, base_id)
    head_id = submit(
        http, dataset="cifar100", train_mode="frozen_base", init_from=str(base_id), epochs=1
    )
    _succeeded(http, processes, head_id)

    base, head = _weights(http, base_id), _weights(http, head_id)
    assert set(base) == set(head)
    body = [name for name in base if not name.startswith(f"{CLASSIFIER}.")]
    assert body and all(torch.equal(base[name], head[name]) for name in body), [
        name for name in body if not torch.equal(base[name], head[name])
    ]
    assert base[f"{CLASSIFIER}.weight"].shape[0] == 10
    assert head[f"{CLASSIFIER}.weight"].shape[0] == 100
    assert head[f"{CLASSIFIER}.bias"].shape == (100,)


def _records(http: httpx.Client, job_id: object) -> list[dict]:
    records: list[dict] = http.get(f"/jobs/{job_id}/metrics").json()["records"]
    return [{k: v for k, v in record.items() if k not in TIMING} for record in records]


def test_rerun_with_the_same_seed_gives_the_same_metrics_and_weights_on_the_cpu(
    service: tuple[httpx.Client, Processes],
) -> None:
    http, processes = service
    original = submit(http, epochs=2, seed=5)
    assert http.post(f"/jobs/{original}/rerun", json={"depth": 20}).status_code == 422
    answer = http.post(f"/jobs/{original}/rerun")
    assert answer.status_code == 201, answer.text + processes.diagnose()
    rerun = answer.json()
    assert rerun["rerun_of"] == str(original) and rerun["spec"]["seed"] == 5
    jobs = [_succeeded(http, processes, original), _succeeded(http, processes, rerun["id"])]
    environments = [job["environments"] for job in jobs]
    assert [len(e) for e in environments] == [1, 1], environments
    first_env, second_env = (e[0]["environment"] for e in environments)
    assert first_env == second_env  # one machine, one checkout: the same record
    assert first_env["precision"] == "fp32" and first_env["compiled"] is False
    assert first_env["cuda"] is None and first_env["torch"] == torch.__version__
    assert len(first_env["dataset_sha256"]) == 7  # 5 training batches, test batch, meta
    assert first_env["service_version"] and first_env["source_revision"]

    first, second = _records(http, original), _records(http, rerun["id"])
    assert len(first) == 2 and first == second
    weights, again = _weights(http, original), _weights(http, rerun["id"])
    assert set(weights) == set(again)
    assert all(torch.equal(weights[name], again[name]) for name in weights)
    reseeded = http.post(f"/jobs/{original}/rerun", json={"seed": 6})
    assert reseeded.status_code == 201 and reseeded.json()["spec"]["seed"] == 6
    http.post(f"/jobs/{reseeded.json()['id']}/cancel")
