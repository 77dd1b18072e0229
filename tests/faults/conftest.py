"""The fault tests' world: the test's own Redis, a PostgreSQL database, workers and the API.

Every server and service a test breaks is a process it started itself (see `testkit.processes`);
the finalizers stop those process groups and nothing else, also when the test failed.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.store import keys
from core.store.db import session_scope
from core.store.tables import Checkpoint, EpochRecord, Job, JobStatus, Weights
from testkit.cifar_files import write_cifar10
from testkit.processes import Proc, Processes, wait_for
from testkit.procfs import children, cmdline, idle_spare
from testkit.servers import RedisServer
from testkit.services import fresh_postgres_database
from testkit.starters import start_api, start_worker, wait_worker_ready

# 400 training and 100 test images: ResNet-8 at batch 50 is 8 steps, a second or two an epoch
# on 2 CPU cores (more while other processes share them), long enough to stop one mid-epoch.
TRAIN_PER_CLASS = 40
TEST_PER_CLASS = 10

# A tiny job with a fixed seed: on the CPU the final weights depend only on this spec.
SPEC: dict[str, Any] = {
    "architecture": "resnet",
    "depth": 8,
    "epochs": 3,
    "batch_size": 50,
    "learning_rate": 0.05,
    "seed": 7,
}

# Seconds. A lost worker's job moves on within lease timeout + reaper interval; 8 s rides out
# the 3 s database outage of test_database_restart and heartbeats late on a busy machine.
FAST_WORKER = {
    "HEARTBEAT_INTERVAL_S": "0.5",
    "LEASE_TIMEOUT_S": "8",
    "REAPER_INTERVAL_S": "1",
    "CHECKPOINT_INTERVAL_S": "0.5",
    "SHUTDOWN_GRACE_S": "30",
    # The tests' epochs last about half a second on a fast CPU, shorter than the default 0.5 s.
    "PROGRESS_INTERVAL_S": "0.1",
}

TERMINAL = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)
FAILED = pytest.StashKey[bool]()


class Service:
    """One deployment under test: settings as environment variables, and the processes."""

    def __init__(self, processes: Processes, env: dict[str, str]) -> None:
        self.processes = processes
        self.env = env
        self.database_url = env["DATABASE_URL"]
        self.base_url: str | None = None
        with session_scope(self.database_url) as session:
            _, self.api_key = keys.create_key(session=session, owner_name="fault-tester")

    # --- processes ---

    def workers(
        self, *names: str, api: bool = True, ulimit: str | None = None, **settings: str
    ) -> dict[str, Proc]:
        """Start workers (and the API, unless it runs or `api` is False) side by side, as each
        takes seconds to start, and wait until all are ready. `settings` go to the workers."""
        procs = {
            name: start_worker(self.processes, name, {**self.env, **settings}, ulimit=ulimit)
            for name in names
        }
        if api and self.base_url is None:
            self.api()
        for proc in procs.values():
            wait_worker_ready(proc)
        return procs

    def worker(
        self, name: str, *, api: bool = True, ulimit: str | None = None, **settings: str
    ) -> Proc:
        return self.workers(name, api=api, ulimit=ulimit, **settings)[name]

    def webhook_worker(self, name: str = "webhooks", **settings: str) -> Proc:
        """A webhook worker (queue `webhooks` only), as a deployment runs one beside the GPUs'."""
        proc = start_worker(self.processes, name, {**self.env, **settings}, webhooks=True)
        wait_worker_ready(proc)
        return proc

    def api(self, **settings: str) -> str:
        _, self.base_url = start_api(self.processes, {**self.env, **settings})
        return self.base_url

    def client(self, timeout: float = 10.0) -> httpx.Client:
        assert self.base_url is not None, "start the API first"
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=timeout,
        )

    def submit(self, **spec: Any) -> uuid.UUID:
        with self.client() as client:
            answer = client.post("/jobs", json={**SPEC, **spec})
        assert answer.status_code == 201, answer.text
        return uuid.UUID(answer.json()["id"])

    # --- the database's view of a job ---

    def job(self, job_id: uuid.UUID) -> Job:
        with session_scope(self.database_url) as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def wait_job(
        self,
        job_id: uuid.UUID,
        until: Callable[[Job], bool],
        *,
        timeout: float,
        what: str,
    ) -> Job:
        def probe() -> Job | None:
            job = self.job(job_id)
            return job if until(job) else None

        return wait_for(
            probe,
            timeout=timeout,
            what=f"job {job_id}: {what}",
            interval=0.05,
            diagnose=lambda: f"{self.describe(job_id)}\n{self.processes.diagnose()}",
        )

    def wait_done(self, job_id: uuid.UUID, *, timeout: float) -> Job:
        return self.wait_job(
            job_id, lambda job: job.status in TERMINAL, timeout=timeout, what="to end"
        )

    def describe(self, job_id: uuid.UUID) -> str:
        job = self.job(job_id)
        return (
            f"job {job_id}: status={job.status.value} attempts={job.attempts} "
            f"epochs_done={job.epochs_done} worker={job.worker} error={job.error_code}: "
            f"{job.error_message}"
        )

    def epochs(self, job_id: uuid.UUID) -> list[int]:
        with session_scope(self.database_url) as session:
            return list(
                session.scalars(
                    select(EpochRecord.epoch)
                    .where(EpochRecord.job_id == job_id)
                    .order_by(EpochRecord.epoch)
                )
            )

    def checkpoint_at(self, job_id: uuid.UUID) -> tuple[int, int] | None:
        """(epochs completed, batches into the next) of the stored checkpoint."""
        with session_scope(self.database_url) as session:
            row = session.execute(
                select(Checkpoint.epoch, Checkpoint.batch).where(Checkpoint.job_id == job_id)
            ).first()
            return None if row is None else (int(row[0]), int(row[1]))

    def weights(self, job_id: uuid.UUID) -> dict[str, Any]:
        import torch

        with session_scope(self.database_url) as session:
            data = session.scalar(select(Weights.data).where(Weights.job_id == job_id))
        assert data is not None, f"job {job_id} has no weights"
        state: dict[str, Any] = torch.load(io.BytesIO(data), weights_only=True)
        return state


def assert_same_weights(ours: dict[str, Any], reference: dict[str, Any]) -> None:
    import torch

    assert ours.keys() == reference.keys()
    different = [name for name in ours if not torch.equal(ours[name], reference[name])]
    assert not different, f"tensors that differ from the uninterrupted run: {different}"


def worker_named(procs: dict[str, Proc], job: Job) -> Proc:
    """The worker process that holds the job (job.worker is 'name@host/pidN')."""
    assert job.worker is not None, "the job has no worker"
    return procs[job.worker.split("@", 1)[0]]


# Folders of the fault tests' own, not pytest's tmp_path: a pytest run started meanwhile in
# another shell prunes old tmp_path folders, logs and Redis files of a running test included.


@pytest.fixture(scope="session")
def cifar_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="crs-faults-cifar-"))
    try:
        write_cifar10(root, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def workdir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="crs-faults-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether any phase of a test failed, for the `processes` finalizer."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    item.stash[FAILED] = item.stash.get(FAILED, False) or report.failed


@pytest.fixture
def processes(workdir: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    started = Processes(workdir / "logs")
    try:
        yield started
    finally:
        started.stop_all()
        if request.node.stash.get(FAILED, False):
            # Shown by pytest under "Captured stdout teardown" of the failed test.
            print(started.diagnose(last=200))


@pytest.fixture
def redis_server(processes: Processes, workdir: Path) -> RedisServer:
    server = RedisServer(processes, workdir / "redis")
    server.start()
    return server


@pytest.fixture
def store_url() -> Iterator[str]:
    """A migrated, empty database on the shared PostgreSQL server."""
    from core.store.migrate import upgrade

    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


def service_settings(database_url: str, broker_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "DATA_DIR": str(data_dir),
        "DOWNLOAD_DATASETS": "false",
        "DEVICE": "cpu",
        # One thread per training process: tests run two of them on 2 cores, and OpenMP
        # threads that spin-wait for a core another process holds slow training tenfold.
        "OMP_NUM_THREADS": "1",
        **FAST_WORKER,
    }


@pytest.fixture
def service(
    store_url: str,
    cifar_dir: Path,
    processes: Processes,
    redis_server: RedisServer,
    workdir: Path,
) -> Service:
    # Set up in this order, torn down in reverse: the processes stop before the database goes.
    env = service_settings(store_url, redis_server.url(), cifar_dir)
    # The workers' lock files (worker/recovery.py) of this test alone: other test runs on this
    # machine start workers with the same names.
    env["WORKER_STATE_DIR"] = str(workdir / "worker-state")
    return Service(processes, env)


def send_message(broker_url: str, job_id: uuid.UUID) -> str:
    """Put one more message for the job on the training queue, as a redelivery would; its id."""
    from celery import Celery

    from core.messaging.broker import TRAIN_QUEUE, TRAIN_TASK, celery_config
    from core.settings import Settings

    producer = Celery("fault-tests", set_as_current=False)
    producer.conf.update(celery_config(Settings(_env_file=None, broker_url=broker_url)))  # type: ignore[call-arg]
    try:
        return str(producer.send_task(TRAIN_TASK, args=[str(job_id)], queue=TRAIN_QUEUE).id)
    finally:
        producer.close()


def training_children(worker: Proc) -> list[int]:
    """The worker's `python -m worker.training_process.train_child` processes that hold a job
    (not its spare)."""
    return [
        pid
        for pid in children(worker.pid)
        if "worker.training_process.train_child" in cmdline(pid) and not idle_spare(pid)
    ]


def log_lines(proc: Proc, *needles: str) -> list[str]:
    """The lines of the process's log that contain every needle."""
    text = proc.log.read_text(errors="replace")
    return [line for line in text.splitlines() if all(n in line for n in needles)]
