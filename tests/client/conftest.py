"""The client tests' world: the real API and a worker on the embedded defaults (SQLite, the
filesystem broker) with generated CIFAR-10, and `crs` run as a person runs it.

The service is shared by the tests of one module (it takes seconds to start); each process is
one the fixture started, stopped with its group at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testkit.cifar_files import write_cifar10
from testkit.processes import REPO, Proc, Processes
from testkit.starters import start_api, start_worker, wait_worker_ready

# ResNet-8 on 400 training images at batch 10: 40 batches, half a second to a few seconds an
# epoch, long enough for progress events between the epochs.
TRAIN_PER_CLASS = 40
TEST_PER_CLASS = 10
JOB = {
    "architecture": "resnet",
    "depth": 8,
    "epochs": 3,
    # Small batches: an epoch (40 batches) lasts well past its first progress report (0.1 s
    # after its first batch here) also on a fast idle machine, so the bar has batches to count.
    "batch_size": 10,
    "learning_rate": 0.05,
    "seed": 3,
}


def job_flags(**overrides: Any) -> list[str]:
    """JOB as `crs submit` flags."""
    return [
        part
        for name, value in {**JOB, **overrides}.items()
        for part in (f"--{name.replace('_', '-')}", str(value))
    ]


@dataclass
class Service:
    root: Path
    processes: Processes
    env: dict[str, str]
    key: str
    url: str = ""
    api: Proc | None = None
    workers: list[Proc] = field(default_factory=list)

    def start_api(self) -> str:
        self.api, self.url = start_api(self.processes, self.env, name=f"api-{self.api_starts}")
        return self.url

    @property
    def api_starts(self) -> int:
        return sum(1 for proc in self.processes.started if proc.name.startswith("api-"))

    def client(self) -> Any:
        from client import Client

        return Client(self.url, self.key)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a `crs` process: no settings of this machine's user."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("CRS_URL", "CRS_API_KEY", "CRS_CONFIG", "CRS_DEBUG")
    }
    env["PYTHONPATH"] = str(REPO)  # `client` from this checkout, from any working folder
    env["CRS_CONFIG"] = str(Path(tempfile.gettempdir()) / "crs-tests-no-such-config.toml")
    env.update(extra)
    return env


def crs(
    *args: str, cwd: Path | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m client ARGS` with pipes (not a terminal); its output and exit status."""
    return subprocess.run(
        [sys.executable, "-m", "client", *args],
        cwd=cwd or tempfile.gettempdir(),
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    from core.store import keys
    from core.store.db import session_scope
    from core.store.migrate import upgrade

    # Not pytest's tmp_path: a pytest run started meanwhile in another shell prunes those.
    root = Path(tempfile.mkdtemp(prefix="crs-client-"))
    processes = Processes(root / "logs")
    try:
        write_cifar10(root / "data", train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
        database_url = f"sqlite:///{root / 'service.db'}"
        upgrade(database_url)
        with session_scope(database_url) as session:
            _, key = keys.create_key(session=session, owner_name="client-tester")
        env = {
            "DATABASE_URL": database_url,
            "BROKER_URL": f"filesystem://{root / 'broker'}",
            "DATA_DIR": str(root / "data"),
            "DOWNLOAD_DATASETS": "false",
            "DEVICE": "cpu",
            "OMP_NUM_THREADS": "1",
            "HEARTBEAT_INTERVAL_S": "0.5",
            "REAPER_INTERVAL_S": "1",
            # An epoch lasts half a second on a fast CPU: report progress well inside it.
            "PROGRESS_INTERVAL_S": "0.1",
        }
        service = Service(root=root, processes=processes, env=env, key=key)
        worker = start_worker(processes, "worker", env)
        service.workers.append(worker)
        service.start_api()
        wait_worker_ready(worker)
        yield service
    finally:
        processes.stop_all()
        shutil.rmtree(root, ignore_errors=True)
