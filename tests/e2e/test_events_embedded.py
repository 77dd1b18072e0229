"""Live events on the embedded set-up (SQLite, kombu's filesystem broker): the API's shared
poller feeds the streams. Real processes: the API under uvicorn and a Celery worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.store.db import session_scope
from core.store.keys import create_key
from core.store.migrate import upgrade
from testkit.builders import make_settings, worker_env
from testkit.processes import Processes, wait_for
from testkit.starters import start_api, start_worker, wait_worker_ready
from tests.e2e.conftest import client, submit, wait_job
from tests.sse_reader import Message, StreamReader

pytestmark = pytest.mark.slow


@dataclass
class Local:
    http: httpx.Client
    base_url: str
    key: str
    processes: Processes


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, cifar_dir: Path) -> Iterator[Local]:
    home = tmp_path_factory.mktemp("embedded")
    processes = Processes(home / "logs")
    url = f"sqlite:///{home / 'service.db'}"
    upgrade(url)
    settings = make_settings(url, cifar_dir, broker_url=f"filesystem://{home / 'broker'}")
    env = {**worker_env(settings), "OMP_NUM_THREADS": "1"}
    try:
        worker = start_worker(processes, "worker", env)
        _, base_url = start_api(processes, env)
        wait_worker_ready(worker)
        with session_scope(url) as session:
            _, key = create_key(session=session, owner_name="embedded")
        with client(base_url, key) as http:
            yield Local(http, base_url, key, processes)
    finally:
        processes.stop_all()


def stored_events(http: httpx.Client, job_id: uuid.UUID) -> list[dict[str, object]]:
    answer = http.get(f"/jobs/{job_id}/events", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, object]] = answer.json()["events"]
    return events


def test_stream_started_mid_job_then_reconnected_misses_nothing(local: Local) -> None:
    http = local.http
    # Batches of 10 (50 an epoch): an epoch outlasts the first progress report (0.1 s after its
    # first batch, testkit's settings) also on a fast idle machine.
    job_id = submit(http, epochs=4, batch_size=10)
    # Started once the job has stored an epoch: those events come first, then the live ones.
    wait_for(
        lambda: any(e["type"] == "epoch" for e in stored_events(http, job_id)),
        timeout=120,
        what="the first epoch event",
        diagnose=local.processes.diagnose,
    )
    before = [e["id"] for e in stored_events(http, job_id)]
    shown_eta = []

    def cut(message: Message) -> bool:
        return message.event == "epoch" and message.data["data"]["epoch"] >= 2

    first = StreamReader(local.base_url, local.key, f"/jobs/{job_id}/events/stream", cut=cut)
    first.start()
    while first.is_alive():
        job = http.get(f"/jobs/{job_id}").json()
        if job["progress"].get("eta_seconds") is not None:
            shown_eta.append(job["progress"])
        time.sleep(0.2)
    first.finish(1)
    assert first.status == 200 and first.content_type is not None
    assert first.content_type.startswith("text/event-stream")
    assert [m.id for m in first.stored()][: len(before)] == before
    assert not first.ended_by_server

    second = StreamReader(
        local.base_url,
        local.key,
        f"/jobs/{job_id}/events/stream",
        last_event_id=first.stored()[-1].id,
    )
    second.start()
    second.finish(180)
    assert second.ended_by_server
    assert second.stored()[-1].event == "status"
    assert second.stored()[-1].data["data"]["status"] == "succeeded"

    log = stored_events(http, job_id)
    received = [m.id for m in first.stored() + second.stored()]
    assert received == [e["id"] for e in log], "missed or repeated events across the reconnect"
    assert [e["data"]["epoch"] for e in log if e["type"] == "epoch"] == [1, 2, 3, 4]
    statuses = [e["data"]["status"] for e in log if e["type"] == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    progress = [m for m in first.messages + second.messages if m.event == "progress"]
    assert progress, "no progress message while the job trained"
    assert all(m.id is None for m in progress)
    assert {"batch", "batches_per_epoch", "images_per_second", "eta_seconds"} <= set(
        progress[-1].data["data"]
    )
    assert shown_eta, "GET /jobs/{id} never showed the progress inside an epoch"
    assert wait_job(http, job_id)["status"] == "succeeded"


def test_stream_of_another_owner_is_404(local: Local, tmp_path: Path) -> None:
    job_id = submit(local.http, epochs=1)
    answer = httpx.get(
        f"{local.base_url}/jobs/{job_id}/events/stream",
        headers={"Authorization": "Bearer not-a-key"},
    )
    assert answer.status_code == 401
    other = StreamReader(local.base_url, local.key, f"/jobs/{uuid.uuid4()}/events/stream")
    other.start()
    other.finish(10)
    assert other.status == 404
    wait_job(local.http, job_id)
