"""An uploaded data set's events on the embedded set-up (SQLite, kombu's filesystem broker, no
Redis; issue 19): the API's shared poller brings the dataset worker's committed events to the
owner's stream. Real processes: the API under uvicorn and a worker of the `datasets` queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.messaging.dataset_queue import DATASET_WORKER_ARGS
from core.store.db import session_scope
from core.store.keys import create_key
from core.store.migrate import upgrade
from testkit.builders import make_settings, worker_env
from testkit.dataset_files import image_folder_files, write_archive
from testkit.processes import VENV_BIN, Processes
from testkit.starters import service_env, start_api, wait_worker_ready
from tests.e2e.conftest import client
from tests.faults.test_dataset_events import BROKEN, CLASSES, _ends
from tests.sse_reader import StreamReader

pytestmark = pytest.mark.slow


def test_owner_stream_follows_an_upload_without_redis(tmp_path: Path) -> None:
    processes = Processes(tmp_path / "logs")
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    settings = make_settings(
        url,
        tmp_path / "data",
        broker_url=f"filesystem://{tmp_path / 'broker'}",
        dataset_cache_dir=tmp_path / "cache",
    )
    env = {**worker_env(settings), "OMP_NUM_THREADS": "1"}
    argv = [str(VENV_BIN / "celery"), *DATASET_WORKER_ARGS, "-n", "datasets@%h"]
    try:
        worker = processes.start("datasets", [*argv, "--loglevel=INFO"], env=service_env(env))
        _, base_url = start_api(processes, env)
        wait_worker_ready(worker)
        with session_scope(url) as session:
            _, key = create_key(session=session, owner_name="embedded")
        ids: set[str] = set()
        stream = StreamReader(base_url, key, "/events/stream", cut=_ends(ids))
        stream.start()
        stream.connected.wait(10)
        files = image_folder_files(CLASSES, per_class=10)
        uploaded = {}
        with client(base_url, key) as http:
            for name, members in (("good", files), ("bad", {**files, BROKEN: b"\x89PNG cut"})):
                archive = write_archive(tmp_path / f"{name}.zip", members)
                answer = http.post("/datasets", params={"name": name}, content=archive.read_bytes())
                assert answer.status_code == 202, answer.text
                uploaded[name] = answer.json()["id"]
        ids |= set(uploaded.values())
        stream.finish(120)
    finally:
        processes.stop_all()
    last = {m.data["dataset_id"]: m.data["data"] for m in stream.stored() if m.event == "dataset"}
    assert last[uploaded["good"]]["status"] == "ready"
    assert last[uploaded["bad"]]["status"] == "failed"
    assert last[uploaded["bad"]]["error"]["where"] == BROKEN
