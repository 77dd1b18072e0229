"""`crs` against the real API and worker: submit, list, show, metrics, download, cancel, and the
one-line errors (a 422's field and reason, a wrong key, no server)."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.client.conftest import JOB, Service, crs, job_flags
from tests.client.proxy import Proxy

pytestmark = pytest.mark.slow


def wait_done(service: Service, job_id: str, timeout: float = 240) -> Any:
    """Poll until the job ends (GET /jobs/{id}; the event stream has tests of its own)."""
    with service.client() as client:
        deadline = time.monotonic() + timeout
        while True:
            job = client.job(job_id)
            if job.done:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"{job} still running\n{service.processes.diagnose()}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def trained(service: Service) -> str:
    """A job submitted with `crs submit -q` and trained to the end; its id."""
    done = crs("--url", service.url, "--key", service.key, "submit", "-q", *job_flags())
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    job = wait_done(service, job_id)
    assert job.status == "succeeded", f"{job.data}\n{service.processes.diagnose()}"
    return job_id


def test_submit_prints_job_and_show_describes_it(service: Service, trained: str) -> None:
    done = crs("show", trained, CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 0, done.stderr
    assert f"job       {trained}" in done.stdout
    assert "status    succeeded" in done.stdout
    assert "depth=8" in done.stdout and "final     test error" in done.stdout


def test_list_shows_jobs_newest_first_and_filters_by_status(service: Service, trained: str) -> None:
    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    done = crs("list", "--status", "succeeded", **env)
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split() == ["id", "status", "name", "epochs", "test", "err", "created"]
    assert any(line.startswith(trained) and "succeeded" in line for line in lines)
    assert all("succeeded" in line for line in lines)
    assert crs("list", "--status", "queued", **env).stdout.strip() == header


def test_events_name_the_epoch_count(service: Service, trained: str) -> None:
    done = crs("events", trained, "--type", "epoch", CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 0, done.stderr
    assert f"epoch 1/{JOB['epochs']}" in done.stdout and "/?" not in done.stdout
    assert " err " in done.stdout  # test error in %, not accuracy (issue 18)


def test_metrics_csv_has_one_row_per_epoch(service: Service, trained: str) -> None:
    done = crs("metrics", trained, "--csv", CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [int(row["epoch"]) for row in rows] == list(range(1, JOB["epochs"] + 1))
    assert 0 <= float(rows[-1]["test_accuracy"]) <= 1


def test_download_writes_weights_that_load_into_build_model(
    service: Service, trained: str, tmp_path: Path
) -> None:
    import torch

    from core.trainer.models import build_model

    target = tmp_path / "weights.pt"
    done = crs("download", trained, "-o", str(target), CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 0, done.stderr
    assert "sha256 matches the ETag" in done.stdout
    model = build_model("resnet", 8, num_classes=10)
    model.load_state_dict(torch.load(target, weights_only=True))
    # Into a folder: the server's file name; nothing else (no temporary file) left behind.
    folder = tmp_path / "folder"
    folder.mkdir()
    assert (
        crs(
            "download", trained, "-o", str(folder), CRS_URL=service.url, CRS_API_KEY=service.key
        ).returncode
        == 0
    )
    assert [path.name for path in folder.iterdir()] == [f"resnet8-{trained}.pt"]
    # `-o new/` makes the folder (it wrote a file named `new` before, issue 18).
    new = tmp_path / "new" / "deeper"
    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    assert crs("download", trained, "-o", f"{new}/", **env).returncode == 0
    assert [path.name for path in new.iterdir()] == [f"resnet8-{trained}.pt"]


def test_python_client_downloads_with_checked_sha256(
    service: Service, trained: str, tmp_path: Path
) -> None:
    import hashlib

    with service.client() as client:
        job = client.job(trained)
        path = job.download(tmp_path)
        assert [record["epoch"] for record in job.metrics()] == [1, 2, 3]
    assert path.name == f"resnet8-{trained}.pt"
    with service.client() as client:
        answer = client._http.get(f"/jobs/{trained}/weights")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == answer.headers["ETag"].strip('"')


def test_download_before_success_is_a_one_line_conflict(service: Service) -> None:
    with service.client() as client:
        job = client.submit(**{**JOB, "epochs": 50})
        try:
            done = crs("download", job.id, CRS_URL=service.url, CRS_API_KEY=service.key)
        finally:
            client.cancel(job.id)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("crs: error: 409 conflict: job is")


def test_cancel_stops_a_job(service: Service) -> None:
    with service.client() as client:
        job = client.submit(**{**JOB, "epochs": 50})
    done = crs("cancel", job.id, CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 0, done.stderr
    assert job.id in done.stdout
    assert wait_done(service, job.id).status == "cancelled"
    again = crs("cancel", job.id, CRS_URL=service.url, CRS_API_KEY=service.key)
    assert again.returncode == 2
    assert "409 conflict" in again.stderr and "already cancelled" in again.stderr


def test_invalid_field_prints_field_and_reason_on_one_line(service: Service) -> None:
    done = crs(
        "submit",
        *job_flags(depth=55),
        "--colour",
        "blue",
        CRS_URL=service.url,
        CRS_API_KEY=service.key,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    line = done.stderr.strip()
    assert line.startswith("crs: error: 422 validation_error: ")
    assert "depth: " in line and "6n+2" in line
    assert "colour: " in line  # extra="forbid": an unknown field is named too
    assert "Traceback" not in line


def test_python_client_raises_typed_error_with_fields(service: Service) -> None:
    from client import BadRequest

    with service.client() as client, pytest.raises(BadRequest) as error:
        client.submit(**{**JOB, "epochs": 0})
    assert error.value.status == 422
    assert error.value.code == "validation_error"
    assert [(p.field, p.location) for p in error.value.fields] == [("epochs", "body")]


def test_wrong_key_is_a_one_line_error(service: Service) -> None:
    done = crs("list", CRS_URL=service.url, CRS_API_KEY="crs_not_a_key")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("crs: error: the API key from CRS_API_KEY was refused (401")


def test_unknown_job_is_a_one_line_not_found(service: Service) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    done = crs("show", missing, CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 2
    assert done.stderr == f"crs: error: 404 not_found: no job {missing}\n"


def test_local_run_key_is_found_in_a_parent_folder(service: Service, tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "local-api-key").write_text(service.key + "\n")
    (tmp_path / "sub").mkdir()
    done = crs("list", "--url", service.url, cwd=tmp_path / "sub")
    assert done.returncode == 0, done.stderr


def test_events_lists_the_log_and_filters_by_type(service: Service, trained: str) -> None:
    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    done = crs("events", trained, **env)
    assert done.returncode == 0, done.stderr
    assert "status    queued" in done.stdout
    assert "attempt   attempt 1 on worker@" in done.stdout
    assert "status    succeeded (attempt 1, worker " in done.stdout.splitlines()[-1]
    epochs = crs("events", trained, "--type", "epoch", "--json", **env)
    assert epochs.returncode == 0, epochs.stderr
    records = [json.loads(line) for line in epochs.stdout.splitlines()]
    assert [r["data"]["epoch"] for r in records] == [1, 2, 3]
    assert all(r["type"] == "epoch" and r["job_id"] == trained for r in records)


def test_watch_of_a_finished_job_replays_it_without_a_bar_off_a_terminal(
    service: Service, trained: str
) -> None:
    done = crs("watch", trained, CRS_URL=service.url, CRS_API_KEY=service.key)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"job {trained}: resnet8, 3 epochs, succeeded"
    assert [line.split("  ")[0] for line in lines if "train loss" in line] == [
        "epoch 1/3",
        "epoch 2/3",
        "epoch 3/3",
    ]
    assert lines[-1].startswith("succeeded: final test error")
    assert "━" not in done.stdout and "\x1b" not in done.stdout


def test_corrupt_download_is_refused_and_leaves_no_file(
    service: Service, trained: str, tmp_path: Path
) -> None:
    proxy = Proxy(int(urlsplit(service.url).port or 80))
    proxy.corrupt = True
    try:
        done = crs(
            "download", trained, "-o", str(tmp_path), CRS_URL=proxy.url, CRS_API_KEY=service.key
        )
    finally:
        proxy.close()
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"crs: error: download of job {trained} is corrupt: sha256 ")
    assert "but the server's ETag is" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_show_gives_a_queued_jobs_place_and_list_has_its_header(service: Service) -> None:
    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    with service.client() as client:
        first = client.submit(**{**JOB, "epochs": 50})
        second = client.submit(**{**JOB, "epochs": 50})
        try:
            done = crs("show", second.id, **env)
        finally:
            client.cancel(second.id)
            client.cancel(first.id)
    assert done.returncode == 0, done.stderr
    queue = [line for line in done.stdout.splitlines() if line.startswith("queue ")]
    assert len(queue) == 1 and "place " in queue[0] and "jobs ahead" in queue[0], done.stdout


def test_a_unique_prefix_of_a_job_id_names_the_job(service: Service, trained: str) -> None:
    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    done = crs("show", trained[:8], **env)
    assert done.returncode == 0, done.stderr
    assert f"job       {trained}" in done.stdout
    missing = crs("show", "ffffffffff", **env)
    assert missing.returncode == 2 and "starting with 'ffffffffff'" in missing.stderr


def test_submit_names_every_field_at_fault_at_once(service: Service) -> None:
    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    done = crs("submit", "--architecture", "resnet", "--epochs", "0", "--batch-size", "4", **env)
    assert done.returncode == 2
    assert "epochs:" in done.stderr and "batch_size:" in done.stderr, done.stderr


def test_download_in_another_format_and_predict_image_files(
    service: Service, trained: str, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image

    env = {"CRS_URL": service.url, "CRS_API_KEY": service.key}
    done = crs("download", trained, "--format", "onnx", "-o", f"{tmp_path}/onnx/", **env)
    assert done.returncode == 0, done.stderr
    (saved,) = (tmp_path / "onnx").iterdir()
    assert saved.suffix == ".onnx" and saved.stat().st_size > 0

    picture = tmp_path / "cat.png"
    Image.fromarray(np.full((32, 32, 3), 120, dtype=np.uint8)).save(picture)
    predicted = crs("predict", trained[:8], str(picture), "-k", "2", **env)
    assert predicted.returncode == 0, predicted.stderr
    (line,) = predicted.stdout.splitlines()
    assert "cat.png" in line and line.count("%") == 2
