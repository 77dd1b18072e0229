"""The multi-host drill on one machine (issue 21): three workers, each with a data folder and a
state directory of its own as on three hosts, share PostgreSQL and Redis and run a 12-child
sweep; one is sent SIGTERM mid-epoch (a scale-down), one SIGKILL (a lost node). Every child
succeeds, each epoch is recorded once, and the time from the SIGTERM to the first step of the
handed-back job on another worker is measured (docs/RELIABILITY.md, "Several hosts")."""

from __future__ import annotations

import logging
import re
import shutil
import signal
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.store.db import session_scope
from core.store.event_tables import Event
from core.store.tables import EpochRecord, Job, JobStatus
from testkit.processes import Proc, wait_for
from testkit.starters import start_worker, wait_worker_ready
from tests.faults.conftest import SPEC, Service, log_lines, worker_named

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

CHILDREN = 12
EPOCHS = 2  # a mid-epoch stop and its resume, in jobs of seconds
HOSTS = ("host1", "host2", "host3")
# Celery's log lines begin "[2026-12-07 21:30:00,123: INFO/...": local time, milliseconds.
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})")


def _start_hosts(service: Service, workdir: Path, cifar_dir: Path) -> dict[str, Proc]:
    procs = {}
    for host in HOSTS:
        data = workdir / host / "data"
        shutil.copytree(cifar_dir, data)
        env = {**service.env, "DATA_DIR": str(data), "WORKER_STATE_DIR": str(workdir / host)}
        procs[host] = start_worker(service.processes, host, env)
    service.api()
    for proc in procs.values():
        wait_worker_ready(proc)
    return procs


def _children(service: Service, sweep_id: uuid.UUID) -> list[Job]:
    with session_scope(service.database_url) as session:
        rows = list(session.scalars(select(Job).where(Job.sweep_id == sweep_id)))
        session.expunge_all()
        return rows


def _logged_at(line: str) -> float:
    found = STAMP.match(line)
    assert found is not None, line
    stamp = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S")
    return stamp.timestamp() + int(found[2]) / 1000


def test_three_hosts_survive_scale_down_and_lost_node(
    service: Service, workdir: Path, cifar_dir: Path
) -> None:
    started = time.monotonic()
    hosts = _start_hosts(service, workdir, cifar_dir)
    body: dict[str, Any] = {
        "name": "multi-host-drill",
        "base": {**SPEC, "epochs": EPOCHS},
        "grid": {"seed": list(range(CHILDREN))},
    }
    with service.client(timeout=30) as client:
        answer = client.post("/sweeps", json=body)
    assert answer.status_code == 201, answer.text
    sweep_id = uuid.UUID(answer.json()["id"])

    # Scale-down: SIGTERM the holder of a child once it has a checkpoint inside an epoch.
    def mid_epoch() -> Job | None:
        for job in _children(service, sweep_id):
            at = service.checkpoint_at(job.id) if job.status == JobStatus.running else None
            if at is not None and at[1] >= 1:
                return job
        return None

    handed = wait_for(mid_epoch, timeout=180, what="a child checkpointed mid-epoch", interval=0.05)
    stopped = worker_named(hosts, handed)
    signalled_at = time.time()
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(60) == 0, stopped.output()
    [back] = log_lines(stopped, str(handed.id), "handed back to the queue") or [stopped.output()]
    handed_back_s = _logged_at(back) - signalled_at

    # Another host resumes it from the checkpoint; its training process logs "resuming" just
    # before the first step.
    def resumed() -> tuple[Proc, str] | None:
        for proc in hosts.values():
            if proc is not stopped:
                lines = log_lines(proc, str(handed.id), "resuming after epoch")
                if lines:
                    return proc, lines[0]
        return None

    resumer, line = wait_for(resumed, timeout=120, what="the handed-back child to resume")
    resume_s = _logged_at(line) - signalled_at

    # Lost node: SIGKILL one of the two remaining hosts while it trains a child, once half the
    # children are done (the last host then trains the rest alone).
    remaining = [proc for proc in hosts.values() if proc is not stopped]

    def busy_victim() -> tuple[Proc, Job] | None:
        rows = _children(service, sweep_id)
        if sum(job.status == JobStatus.succeeded for job in rows) < CHILDREN // 2:
            return None
        for job in rows:
            if job.status == JobStatus.running and job.worker is not None:
                holder = worker_named(hosts, job)
                if holder in remaining and holder.alive():
                    return holder, job
        return None

    killed, killed_job = wait_for(
        busy_victim, timeout=400, what="a running child, half done", interval=0.05
    )
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(10) == -signal.SIGKILL

    def all_ended() -> list[Job] | None:
        rows = _children(service, sweep_id)
        ended = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)
        return rows if all(job.status in ended for job in rows) else None

    def states() -> str:
        rows = [f"{j.id} {j.status.value} {j.worker}" for j in _children(service, sweep_id)]
        return "\n".join([*rows, service.processes.diagnose()])

    done = wait_for(
        all_ended, timeout=400, what="every child to end", interval=0.5, diagnose=states
    )
    assert [job.status for job in done] == [JobStatus.succeeded] * CHILDREN, [
        (job.id, job.status, job.error_code, job.error_message) for job in done
    ]
    ids = {job.id for job in done}
    with session_scope(service.database_url) as session:
        records = Counter(
            (job_id, epoch)
            for job_id, epoch in session.execute(select(EpochRecord.job_id, EpochRecord.epoch))
        )
        epoch_events = Counter(
            (event.job_id, event.data.get("epoch"))
            for event in session.scalars(select(Event).where(Event.type == "epoch"))
        )
        # The claim of the resumed attempt: the last "attempt" event of the handed-back child.
        claimed = session.scalars(
            select(Event.created_at)
            .where(Event.job_id == handed.id, Event.type == "attempt")
            .order_by(Event.id.desc())
        ).first()
    every_epoch = Counter({(job_id, epoch): 1 for job_id in ids for epoch in range(1, EPOCHS + 1)})
    assert records == every_epoch
    # An epoch trained again after a resume would have announced itself a second time.
    assert epoch_events == every_epoch
    assert claimed is not None
    claimed_s = claimed.timestamp() - signalled_at
    assert service.job(handed.id).attempts == 1  # the hand-back is not a failed attempt
    killed_again = service.job(killed_job.id)
    figures = (
        f"multi-host drill: SIGTERM to resumed first step {resume_s:.1f} s, of which "
        f"{handed_back_s:.1f} s to the hand-back and {claimed_s:.1f} s to the claim by a free "
        f"worker (child {handed.id} from {stopped.name} to "
        f"{resumer.name}); child {killed_job.id} "
        f"lost with {killed.name}, {killed_again.attempts} attempts; "
        f"{CHILDREN} children x {EPOCHS} epochs in {time.monotonic() - started:.0f} s"
    )
    log.warning(figures)
    print(figures)
    assert 0 < handed_back_s < claimed_s < resume_s
