"""What the benchmarks on the real stack share: starting it for one run and tearing it down.

- `stack()`: the pieces the end-to-end tests use (testkit): a redis-server of its own on a free
  port, tiny generated CIFAR-10, a fresh database on the local PostgreSQL server with the
  migrations applied, the API under uvicorn, an API key and an httpx client that sends it. On
  exit, also on error, it closes the client, stops every process started through
  `Stack.processes` (the caller's workers too), drops the database and removes its folder.
- `uvicorn_server()`: a quiet uvicorn (one worker, warnings only, no access log) for the
  throughput benchmarks, where the API's own logging would weigh on what is measured.
- `bench_database()`, `redis_server()`: the pieces alone, for the benchmarks that play the
  worker themselves; `machine()`: the line that names the machine in a report.

A benchmark runs as a script (`.venv/bin/python bench/x.py`): it puts the repository root on
sys.path itself before it imports this module. At import, this module loads only testkit's
standard-library helpers (processes, procfs); the rest of testkit and the service wait until a
function needs them, so that the floor app of bench/api_load.py, which imports this module,
loads no more than it did.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING

from testkit.processes import Processes
from testkit.procfs import cpu_name

if TYPE_CHECKING:
    import httpx

    from testkit.processes import Proc
    from testkit.servers import RedisServer

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
UVICORN = ["--host", HOST, "--workers", "1", "--log-level", "warning", "--no-access-log"]
METRICS = {  # an epoch's metrics, less its number, as the benchmarks that play the worker save them
    "train_loss": 1.0,
    "train_accuracy": 0.6,
    "test_loss": 1.1,
    "test_accuracy": 0.55,
    "learning_rate": 0.1,
    "seconds": 14.0,
    "images_per_second": 3500.0,
}


@dataclass
class Stack:
    """The running stack; `env` is what its API and workers were given (`DATABASE_URL`, ...)."""

    root: Path  # the run's temporary folder: logs/, redis/, data/
    processes: Processes
    redis: RedisServer
    url: str  # the database
    env: dict[str, str]
    base_url: str
    key: str  # the API key of owner "bench"
    http: httpx.Client  # base_url, and the key as its Bearer header
    workers: list[Proc]  # those named to stack(), ready

    def start_workers(self, names: Sequence[str], settings: Mapping[str, str]) -> list[Proc]:
        """Workers with `env` and `settings` over it, started together; returned once ready."""
        from testkit.starters import start_worker, wait_worker_ready

        procs = [start_worker(self.processes, name, {**self.env, **settings}) for name in names]
        for proc in procs:
            wait_worker_ready(proc)
        return procs


@contextmanager
def stack(
    prefix: str,
    env: Mapping[str, str],
    *,
    train_per_class: int,
    test_per_class: int,
    http_timeout: float,
    workers: Sequence[str] = (),
) -> Iterator[Stack]:
    """The stack, in a new temporary folder whose name starts with `prefix`.

    The API and the workers get the base settings (DATABASE_URL, BROKER_URL, DATA_DIR,
    DOWNLOAD_DATASETS=false) with `env` over them; the generated CIFAR-10 has `train_per_class`
    training and `test_per_class` test images per class; `http_timeout` is the client's.
    `workers`: workers with those settings, started before the API so that their start-ups
    overlap, and ready when the stack is yielded (`Stack.workers`).
    """
    import httpx

    from core.store.db import session_scope
    from core.store.keys import create_key
    from core.store.migrate import upgrade
    from testkit.cifar_files import write_cifar10
    from testkit.servers import RedisServer
    from testkit.services import fresh_postgres_database
    from testkit.starters import start_api, start_worker, wait_worker_ready

    with TemporaryDirectory(prefix=prefix) as folder, ExitStack() as cleanup:
        root = Path(folder)
        processes = Processes(root / "logs")
        redis = RedisServer(processes, root / "redis")
        cleanup.callback(processes.stop_all)  # whatever fails from here on
        redis.start()
        write_cifar10(root / "data", train_per_class=train_per_class, test_per_class=test_per_class)
        url = cleanup.enter_context(fresh_postgres_database())
        cleanup.callback(processes.stop_all)  # and before the database is dropped
        upgrade(url)
        full_env = {
            "DATABASE_URL": url,
            "BROKER_URL": redis.url(),
            "DATA_DIR": str(root / "data"),
            "DOWNLOAD_DATASETS": "false",
            **env,
        }
        started = [start_worker(processes, name, full_env) for name in workers]
        _, base_url = start_api(processes, full_env)
        for proc in started:
            wait_worker_ready(proc)
        with session_scope(url) as session:
            _, key = create_key(session=session, owner_name="bench")
        http = cleanup.enter_context(
            httpx.Client(
                base_url=base_url,
                headers={"Authorization": f"Bearer {key}"},
                timeout=http_timeout,
            )
        )
        yield Stack(root, processes, redis, url, full_env, base_url, key, http, started)


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server with the migrations applied; its URL."""
    from core.store.migrate import upgrade
    from testkit.services import fresh_postgres_database

    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


@contextmanager
def redis_server(prefix: str = "crs-bench-redis-") -> Iterator[str]:
    """A redis-server of its own on a free port (testkit's, as the tests run it); its URL."""
    from testkit.servers import RedisServer

    with TemporaryDirectory(prefix=prefix) as folder:
        processes = Processes(Path(folder) / "logs")
        try:
            redis = RedisServer(processes, Path(folder) / "redis")
            redis.start()
            yield redis.url()
        finally:
            processes.stop_all()


def machine() -> str:
    return f"{os.cpu_count()} cores, {cpu_name()}"


def _answers(port: int, ready: str | None) -> bool:
    try:
        if ready is None:
            socket.create_connection((HOST, port), timeout=1).close()
        else:
            with urllib.request.urlopen(f"http://{HOST}:{port}{ready}", timeout=2):
                pass
        return True
    except OSError:
        return False


@contextmanager
def uvicorn_server(
    port: int,
    env: Mapping[str, str],
    *,
    app: Sequence[str] = ("api.app:app",),
    ready: str | None = "/healthz",
    what: str = "the API",
    start_timeout: float = 30,
    stop_timeout: float = 10,
) -> Iterator[subprocess.Popen[bytes]]:
    """`app` under a quiet uvicorn on `port`, once `ready` answers (None: once the port accepts
    connections); SIGINT on exit, then a kill if it has not stopped after `stop_timeout` s."""
    command = [sys.executable, "-m", "uvicorn", *app, *UVICORN, "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + start_timeout
        while not _answers(port, ready):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
