"""The service's own processes as production starts them: Celery workers, the API under
uvicorn, and `make run`, each in a process group of its own (`testkit.processes`)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from core.messaging.broker import CELERY_WORKER_ARGS, WEBHOOK_WORKER_ARGS
from core.settings import Settings
from testkit.processes import VENV_BIN, Proc, Processes, free_port, port_open, wait_for


def service_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment for an API or worker process: this one's, plus the settings given."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides)
    return env


def start_worker(
    processes: Processes,
    name: str,
    env: Mapping[str, str],
    *,
    ulimit: str | None = None,
    webhooks: bool = False,
) -> Proc:
    """`celery -A worker.app worker` as production runs it: a training worker
    (core.messaging.broker.CELERY_WORKER_ARGS: the threads pool, JOBS_PER_GPU jobs, queue
    `training`), or with `webhooks` a webhook worker (WEBHOOK_WORKER_ARGS, queue `webhooks`).

    `ulimit`, e.g. "-t 12", is applied by a shell that then execs the worker, so the limit holds
    for the worker and the training children it starts, and the worker's pid is the shell's.
    """
    argv = [
        str(VENV_BIN / "celery"),
        *(WEBHOOK_WORKER_ARGS if webhooks else CELERY_WORKER_ARGS),
        "-n",
        f"{name}@%h",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if ulimit is not None:
        argv = ["bash", "-c", f'ulimit {ulimit} && exec "$@"', "bash", *argv]
    return processes.start(name, argv, env=service_env(env))


def wait_worker_ready(worker: Proc, timeout: float = 60) -> None:
    """Celery logs 'ready.' once it consumes from the queue."""
    wait_for(
        lambda: "ready." in worker.log.read_text(errors="replace") or not worker.alive(),
        timeout=timeout,
        what=f"worker {worker.name} to be ready",
        diagnose=worker.output,
    )
    if not worker.alive():
        raise AssertionError(f"worker {worker.name} exited at start\n{worker.output()}")


def start_api(
    processes: Processes, env: Mapping[str, str], *, name: str = "api"
) -> tuple[Proc, str]:
    """The API under uvicorn on a free port; returns the process and its base URL."""
    port = free_port()
    proc = processes.start(
        name,
        [
            str(VENV_BIN / "uvicorn"),
            "api.app:app",
            "--no-proxy-headers",  # as `make run` (ops/run_local.py): no proxy to trust
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
        ],
        env=service_env(env),
    )
    wait_for(
        lambda: port_open(port) or (None if proc.alive() else "exited"),
        timeout=60,
        what="the API to listen",
        diagnose=proc.output,
    )
    if not proc.alive():
        raise AssertionError(f"the API exited at start\n{proc.output()}")
    return proc, f"http://127.0.0.1:{port}"


def start_make_run(processes: Processes, home: Path, **settings: str) -> tuple[Proc, str, str]:
    """`make run` (`python -m ops.run_local`) in `home` on its embedded defaults, as a person
    starts it: its process, base URL and the key it prints. `settings` go over the defaults."""
    # The defaults, not this machine's settings: no DATABASE_URL, BROKER_URL, DATA_DIR, ...
    env = {
        name: value
        for name, value in service_env({}).items()
        if name.lower() not in Settings.model_fields
    }
    # No network in tests: the generated files are already in var/data.
    env.update(DOWNLOAD_DATASETS="false", DEVICE="cpu", **settings)
    port = free_port()
    proc = processes.start(
        "make-run",
        [sys.executable, "-m", "ops.run_local", "--port", str(port)],
        env=env,
        cwd=home,
    )
    wait_for(
        lambda: "ready:" in proc.log.read_text() or not proc.alive(),
        timeout=90,
        what="make run to be ready",
        diagnose=proc.output,
    )
    assert proc.alive(), proc.output()
    found = re.search(r"API key:\s+(\S+)", proc.log.read_text())
    assert found is not None, proc.output()
    return proc, f"http://127.0.0.1:{port}", found[1]
