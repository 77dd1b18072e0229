"""The spare training process (worker.spare, issue 10): started ahead, it trains the next job it
is given; it touches no CUDA and holds no job while it waits."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from core.store.tables import JobStatus
from testkit.builders import Sent, job_row, new_job
from testkit.processes import wait_for
from testkit.procfs import pid_alive
from worker import spare, supervisor

pytestmark = pytest.mark.slow


@pytest.fixture
def spares(settings: Settings) -> Iterator[None]:
    spare.enable(settings)
    try:
        yield
    finally:
        spare.discard()
        spare._enabled = False


def test_warm_up_reads_the_datasets_and_touches_no_cuda(cifar_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from worker.training_process.train_child import warm_up\n"
        "warm_up(Path(sys.argv[1]))\n"
        "import torch\n"
        "from core.trainer import data\n"
        "assert not torch.cuda.is_initialized(), 'CUDA touched before an order'\n"
        "[key] = data._preloaded\n"
        "assert key == (str(Path(sys.argv[1]).resolve()), 'cifar10'), key\n"
        "assert data.load_cifar(sys.argv[1]) is data._preloaded[key]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(cifar_dir)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_spare_closed_without_an_order_exits_quietly(cifar_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker.training_process.train_child", "--spare", str(cifar_dir)],
        input=b"",
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"spare ready" in done.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_next_job_trains_in_the_spare_and_a_new_spare_follows(
    settings: Settings, spares: None
) -> None:
    first = spare._spare
    assert first is not None and "--spare" in str(first.args)
    job_id = new_job(settings.database_url, epochs=1)
    supervisor.supervise(job_id, settings=settings, worker="test/pid1", send=Sent())

    job = job_row(settings.database_url, job_id)
    assert job.status == JobStatus.succeeded, (job.error_code, job.error_message)
    assert first.poll() == 0  # the spare was the job's training process, and it is done
    second = spare._spare
    assert second is not None and second.pid != first.pid and pid_alive(second.pid)
    spare.discard()
    wait_for(lambda: second.poll() is not None, timeout=10, what="the spare to be killed")


def test_spare_orphaned_before_it_armed_its_death_signal_exits(cifar_dir: Path) -> None:
    # --parent names another process than its parent, as when the worker died before the
    # spare's prctl and the spare was re-parented: it must not wait on as an orphan.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.training_process.train_child",
            "--spare",
            str(cifar_dir),
            "--parent",
            "1",
        ],
        input=b"",
        capture_output=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert b"is gone; not training" in done.stderr
    assert b"spare ready" not in done.stderr  # it left before the slow part


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_spare_starts_once_the_worker_shuts_down(settings: Settings, spares: None) -> None:
    first = spare._spare
    assert first is not None
    spare.discard()  # the shutdown signal's handler
    wait_for(lambda: first.poll() is not None, timeout=10, what="the spare to be killed")
    spare.prepare(settings)  # a job that ended just then, in its pool thread
    assert spare._spare is first  # none started after the shutdown
