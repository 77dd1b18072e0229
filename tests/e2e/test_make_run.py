"""`make run` (`python -m ops.run_local`) on a fresh machine's embedded defaults: SQLite and the
filesystem broker under var/, a training and a webhook worker, and the key it prints; HTTP only,
then Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from core.store.migrate import upgrade
from ops.run_local import Backoff, banner, local_key, write_url
from testkit.processes import Processes, wait_for
from testkit.procfs import children, cmdline, pid_alive
from testkit.receiver import receiving
from testkit.starters import start_make_run
from tests.e2e.conftest import check_trained_job, client, submit, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path / "logs")
    try:
        yield started
    finally:
        started.stop_all()


def workers(run_pid: int, queue: str) -> list[int]:
    """`make run`'s Celery workers consuming `queue` (`training` or `webhooks`)."""
    return [
        pid
        for pid in children(run_pid)
        if "celery" in cmdline(pid) and f" -Q {queue} " in f"{cmdline(pid)} "
    ]


@pytest.fixture
def home(tmp_path: Path, cifar_dir: Path) -> Path:
    """A fresh working directory whose var/data already holds the CIFAR-10 files."""
    home = tmp_path / "home"
    shutil.copytree(cifar_dir, home / "var" / "data")
    return home


def test_make_run_trains_a_job_and_stops_on_ctrl_c(processes: Processes, home: Path) -> None:
    # A receiver on this machine over HTTP: allowed for this run only.
    run, base_url, key = start_make_run(
        processes, home, ALLOW_PRIVATE_WEBHOOKS="true", ALLOW_HTTP_WEBHOOKS="true"
    )
    key_file = home / "var" / "local-api-key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (home / "var" / "service.db").is_file()
    started = children(run.pid)
    assert any("uvicorn" in cmdline(pid) for pid in started)
    assert any("celery" in cmdline(pid) for pid in started)

    assert len(workers(run.pid, "training")) == len(workers(run.pid, "webhooks")) == 1

    with client(base_url, key) as http, receiving([200]) as receiver:
        job_id = submit(http, webhook_url=receiver.url)
        job = wait_job(http, job_id, diagnose=processes.diagnose)
        check_trained_job(http, job_id, job, home / "var" / "data")
        # The final status, sent by the webhook worker through the filesystem broker.
        wait_for(
            lambda: receiver.requests or None,
            timeout=30,
            what="the webhook of the final status",
            diagnose=processes.diagnose,
        )
        [(_, body)] = receiver.requests
        assert json.loads(body)["data"]["status"] == "succeeded"

    # Ctrl-C in a terminal signals the whole foreground process group.
    os.killpg(run.pid, signal.SIGINT)
    assert run.wait(timeout=60) == 0, run.output()
    assert not [pid for pid in started if pid_alive(pid)]


def test_make_run_stops_workers_and_fails_when_api_dies(processes: Processes, home: Path) -> None:
    run, _, _ = start_make_run(processes, home)
    [api] = [pid for pid in children(run.pid) if "uvicorn" in cmdline(pid)]
    [worker] = workers(run.pid, "training")
    [webhook_worker] = workers(run.pid, "webhooks")
    os.kill(api, signal.SIGKILL)
    assert run.wait(timeout=60) == 1, run.output()
    assert not pid_alive(worker) and not pid_alive(webhook_worker)
    assert "the api exited" in run.log.read_text()


def test_make_run_restarts_dead_worker_keeps_api_up_and_resumes_job(
    processes: Processes, home: Path
) -> None:
    run, base_url, key = start_make_run(processes, home)
    [worker] = workers(run.pid, "training")
    with client(base_url, key) as http:
        job_id = submit(http, epochs=3)
        wait_job(http, job_id, ("running",), diagnose=processes.diagnose)
        os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer would
        # The API answers all along, and a new worker takes over (an empty list is a value to
        # wait_for: None until there is one).
        replacement = wait_for(
            lambda: (
                [
                    pid
                    for pid in workers(run.pid, "training")
                    if pid != worker and http.get("/healthz").is_success
                ]
                or None
            ),
            timeout=60,
            what="a new worker",
            diagnose=processes.diagnose,
        )
        assert run.alive() and not pid_alive(worker)
        job = wait_job(http, job_id, diagnose=processes.diagnose)
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 2  # the killed one, and the resumed one on the new worker
    log = run.log.read_text()
    assert "the worker exited with status -9; starting another in 1 s" in log
    assert "died and was restarted" in log  # the new worker took the job back at once

    os.killpg(run.pid, signal.SIGINT)
    assert run.wait(timeout=60) == 0, run.output()
    assert not [pid for pid in replacement if pid_alive(pid)]


def test_backoff_doubles_while_worker_keeps_dying_and_resets_once_it_ran() -> None:
    backoff = Backoff(first_s=1.0, longest_s=8.0, stable_after_s=60.0)
    assert [backoff.pause(ran_s=2.0) for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.pause(ran_s=600.0) == 1.0


def test_local_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    path = tmp_path / "var" / "local-api-key"
    key = local_key(settings, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_key(settings, path) == key


def test_local_key_is_replaced_when_database_does_not_know_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    path = tmp_path / "local-api-key"
    path.write_text("crs_from_a_deleted_database\n")
    path.chmod(0o644)
    key = local_key(settings, path)
    assert key != "crs_from_a_deleted_database"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_banner_says_which_datasets_it_found_and_how_crs_finds_the_service(
    tmp_path: Path, cifar_dir: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, data_dir=cifar_dir, download_datasets=False
    )
    text = banner(settings, "http://127.0.0.1:8000", "crs_k")
    assert f"{cifar_dir}: found cifar10; cifar100 missing (DOWNLOAD_DATASETS is off" in text
    assert "export CRS_URL=http://127.0.0.1:8000 CRS_API_KEY=crs_k" in text
    assert "http://127.0.0.1:8000/#key=crs_k" in text
    downloading = settings.model_copy(update={"download_datasets": True})
    assert "cifar100 missing (downloaded on first use)" in banner(downloading, "u", "k")
    write_url("http://127.0.0.1:8123", tmp_path / "var" / "local-api-url")
    assert (tmp_path / "var" / "local-api-url").read_text() == "http://127.0.0.1:8123\n"
