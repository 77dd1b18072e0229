"""Job start-up (issue 10): claim to first training step, and a sweep's wall time, with and
without the spare training process (WARM_START).

    .venv/bin/python bench/job_startup.py                      # 5 jobs a mode, 24-child sweeps
    .venv/bin/python bench/job_startup.py --jobs 2 --children 6  # a smoke run

Starts a redis-server of its own on a free port, a fresh database on the local PostgreSQL
server, the API under uvicorn and real workers (`celery -A worker.app worker --pool=threads`), on
the CPU with one OpenMP thread per training process; tiny generated CIFAR-10 (400 training
images), ResNet-8, 1 epoch.

- claim to first step: one worker; each job is submitted once the worker is idle (and, with
  warm start, once its spare has logged "spare ready"). The claim is the job's `attempt` event
  (stamped by the worker's clock), the first step the training process's log line
  "first training step done" (the same machine's clock);
- sweep wall time: a sweep of `--children` 1-epoch children (POST /sweeps), from the first
  child's creation to the last child's end (`finished_at`), on one and on two workers.

Both modes run one after the other in one run (off first): on a machine shared with others,
compare the ratios of one run, not figures of different runs.
Stops every process it started and drops its database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import stack  # noqa: E402
from core.store.db import session_scope  # noqa: E402
from core.store.event_tables import Event  # noqa: E402
from core.store.tables import Job, JobStatus  # noqa: E402
from testkit.processes import Proc, wait_for  # noqa: E402
from testkit.procfs import cpu_name  # noqa: E402

JOB: dict[str, Any] = {
    "architecture": "resnet",
    "depth": 8,
    "epochs": 1,
    "batch_size": 50,
    "learning_rate": 0.05,
}
ENDED = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


def log_time(line: str) -> datetime:
    """The local time stamp of a log line '[2026-11-23 20:13:12,345: INFO/...] ...'."""
    stamp = line[1 : line.index(": ")]
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").astimezone()


def first_step(worker: Proc, job_id: uuid.UUID) -> datetime:
    needle = f"job {job_id}: first training step done"

    def found() -> datetime | None:
        for line in worker.log.read_text(errors="replace").splitlines():
            if needle in line:
                return log_time(line)
        return None

    return wait_for(found, timeout=300, what=f"job {job_id}'s first step", diagnose=worker.output)


def claimed_at(url: str, job_id: uuid.UUID) -> datetime:
    with session_scope(url) as session:
        stamp = session.scalar(
            select(Event.created_at).where(Event.job_id == job_id, Event.type == "attempt")
        )
    assert stamp is not None, f"job {job_id} has no attempt event"
    return stamp


def wait_ended(url: str, job_ids: list[uuid.UUID], timeout: float = 900) -> None:
    def ended() -> bool:
        with session_scope(url) as session:
            left = session.scalar(
                select(func.count()).where(Job.id.in_(job_ids), Job.status.not_in(ENDED))
            )
        return left == 0

    wait_for(ended, timeout=timeout, what="the jobs to end", interval=0.2)


def startup_round(http: httpx.Client, url: str, worker: Proc, *, warm: bool, done: int) -> float:
    """One job on an idle worker: seconds from its claim to its first training step."""
    if warm:  # the spare for this job is ready: one 'spare ready' line per job so far, plus one
        wait_for(
            lambda: worker.log.read_text(errors="replace").count("spare ready") > done,
            timeout=300,
            what="the spare to be ready",
            diagnose=worker.output,
        )
    else:
        time.sleep(1.0)  # the previous training process gone, the worker back in its wait
    answer = http.post("/jobs", json=JOB)
    answer.raise_for_status()
    job_id = uuid.UUID(answer.json()["id"])
    seconds = (first_step(worker, job_id) - claimed_at(url, job_id)).total_seconds()
    wait_ended(url, [job_id])
    return seconds


def sweep_seconds(http: httpx.Client, url: str, children: int, name: str) -> float:
    body = {"name": name, "base": JOB, "grid": {"seed": list(range(children))}}
    answer = http.post("/sweeps", json=body)
    assert answer.status_code == 201, answer.text
    sweep_id = uuid.UUID(answer.json()["id"])
    with session_scope(url) as session:
        ids = list(session.scalars(select(Job.id).where(Job.sweep_id == sweep_id)))
    wait_ended(url, ids)
    with session_scope(url) as session:
        first, last, failed = session.execute(
            select(
                func.min(Job.created_at),
                func.max(Job.finished_at),
                func.count().filter(Job.status != JobStatus.succeeded),
            ).where(Job.sweep_id == sweep_id)
        ).one()
    assert failed == 0, f"{failed} children of sweep {sweep_id} did not succeed"
    assert first is not None and last is not None
    return float((last - first).total_seconds())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5, help="start-up samples per mode")
    parser.add_argument("--children", type=int, default=24, help="children of each sweep")
    args = parser.parse_args()

    startup: dict[bool, list[float]] = {False: [], True: []}
    sweeps: dict[tuple[bool, int], float] = {}
    env = {"DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MAX_QUEUED_PER_OWNER": "1000"}
    with stack(
        "startup-bench-", env, train_per_class=40, test_per_class=10, http_timeout=60
    ) as bench:
        http, url = bench.http, bench.url
        for warm in (False, True):
            for workers in (1, 2):
                mode = "on" if warm else "off"
                names = [f"{mode}{workers}-{n}" for n in range(workers)]
                procs = bench.start_workers(names, {"WARM_START": str(warm)})
                if workers == 1:
                    for done in range(args.jobs):
                        seconds = startup_round(http, url, procs[0], warm=warm, done=done)
                        startup[warm].append(seconds)
                        print(f"warm start {mode}: claim to first step {seconds:.2f} s")
                seconds = sweep_seconds(http, url, args.children, f"{mode}-{workers}")
                sweeps[(warm, workers)] = seconds
                print(
                    f"warm start {mode}, {workers} worker(s): {args.children}-child "
                    f"sweep {seconds:.1f} s",
                    flush=True,
                )
                for proc in procs:
                    proc.stop()

    print(f"\nclaim to first training step, median of {args.jobs} (min-max):")
    for warm in (False, True):
        values = startup[warm]
        print(
            f"  warm start {'on ' if warm else 'off'}: {statistics.median(values):.2f} s "
            f"({min(values):.2f}-{max(values):.2f})"
        )
    ratio = statistics.median(startup[False]) / statistics.median(startup[True])
    print(f"  ratio off/on: {ratio:.1f}")
    print(f"{args.children}-child 1-epoch ResNet-8 sweep, wall time:")
    for workers in (1, 2):
        off, on = sweeps[(False, workers)], sweeps[(True, workers)]
        print(f"  {workers} worker(s): off {off:.1f} s, on {on:.1f} s, ratio {off / on:.2f}")
    print(f"machine: {cpu_name()}, {len(os.sched_getaffinity(0))} cores, {time.ctime()}")


if __name__ == "__main__":
    main()
