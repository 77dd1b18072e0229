"""Dispatch latency: from `POST /jobs` to the job running on an idle worker (Redis + PostgreSQL).

    .venv/bin/python bench/dispatch_latency.py             # 20 jobs, about two minutes on 2 cores
    .venv/bin/python bench/dispatch_latency.py --jobs 3    # a smoke run

Starts a redis-server of its own on a free port, a fresh database on the local PostgreSQL
server, the API under uvicorn and one real worker (`celery -A worker.app worker --pool=threads`).
For each job, once the worker is idle (no training process, its previous task done): POST a
tiny job, poll GET /jobs/{id} until it is running, then cancel it (what is measured ends at the
claim; training it would add nothing). Two figures per job:

- server: started_at - created_at of the job's row (the API's insert to the worker's claim,
  both stamped by this machine's clock);
- client: from sending the POST to the first poll that answers `running` (polled every 5 ms,
  so it includes the HTTP round trips and up to one polling interval).

Stops every process it started and drops its database.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import stack  # noqa: E402
from testkit.processes import Proc, wait_for  # noqa: E402
from testkit.procfs import children, cmdline, cpu_name, idle_spare  # noqa: E402

JOB = {"architecture": "resnet", "depth": 8, "epochs": 1, "batch_size": 64}
POLL_S = 0.005


def wait_idle(worker: Proc, tasks_done: int) -> None:
    """No training process, and the worker has logged the end of `tasks_done` tasks."""

    def idle() -> bool:
        busy = [
            p
            for p in children(worker.pid)
            if "worker.training_process.train_child" in cmdline(p) and not idle_spare(p)
        ]
        done = worker.log.read_text(errors="replace").count("Task worker.train_job[")
        # Each task logs "received" and "succeeded": two lines per finished task.
        return not busy and done >= 2 * tasks_done

    wait_for(idle, timeout=120, what="the worker to be idle", diagnose=worker.output)
    time.sleep(0.2)  # back in its broker wait


def measure(http: httpx.Client, worker: Proc, index: int) -> tuple[float, float]:
    wait_idle(worker, index)
    sent = time.perf_counter()
    answer = http.post("/jobs", json=JOB)
    answer.raise_for_status()
    job_id = uuid.UUID(answer.json()["id"])
    while True:
        job = http.get(f"/jobs/{job_id}").json()
        if job["status"] != "queued":
            break
        time.sleep(POLL_S)
    client_s = time.perf_counter() - sent
    assert job["status"] == "running", job
    server_s = (
        datetime.fromisoformat(job["started_at"]) - datetime.fromisoformat(job["created_at"])
    ).total_seconds()
    http.post(f"/jobs/{job_id}/cancel").raise_for_status()
    return server_s, client_s


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    return (
        f"{name:7} median {statistics.median(ordered) * 1000:6.1f} ms   "
        f"p90 {p90 * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()

    env = {
        "DEVICE": "cpu",
        "HEARTBEAT_INTERVAL_S": "0.5",  # the cancel reaches the training process within this
    }
    server, client = [], []
    with stack(
        "dispatch-bench-",
        env,
        train_per_class=20,
        test_per_class=5,
        http_timeout=30,
        workers=["bench"],
    ) as bench:
        (worker,) = bench.workers
        for index in range(args.jobs):
            server_s, client_s = measure(bench.http, worker, index)
            server.append(server_s)
            client.append(client_s)
            print(
                f"job {index + 1:2}: server {server_s * 1000:6.1f} ms, "
                f"client {client_s * 1000:6.1f} ms",
                flush=True,
            )
        wait_idle(worker, args.jobs)

    print(f"\n{args.jobs} jobs, POST /jobs -> running on an idle worker (Redis + PostgreSQL)")
    print(summary("server", server))
    print(summary("client", client))
    print(f"machine: {cpu_name()}, {len(os.sched_getaffinity(0))} cores")


if __name__ == "__main__":
    main()
