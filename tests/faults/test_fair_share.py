"""Fair share with real workers on PostgreSQL + Redis (issue 10): a second owner's job is not
stuck behind a first owner's queue, and a sweep's max_parallel holds across several workers, a
SIGKILLed one included, with every child run once."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.store import keys
from core.store.db import session_scope
from core.store.event_tables import Event
from core.store.tables import EpochRecord, Job, JobStatus
from testkit.processes import wait_for
from tests.faults.conftest import SPEC, Service, worker_named

pytestmark = pytest.mark.slow

SMALL = {**SPEC, "epochs": 1}


def events(service: Service, *types: str) -> list[Event]:
    """The events of the given types, in the order they were written."""
    with session_scope(service.database_url) as session:
        rows = session.scalars(select(Event).where(Event.type.in_(types)).order_by(Event.id))
        found = list(rows)
        session.expunge_all()
        return found


def test_second_owners_job_starts_within_two_claims(service: Service) -> None:
    service.worker("w1")
    with session_scope(service.database_url) as session:
        _, key_b = keys.create_key(session=session, owner_name="owner-b")
    queued_a = [service.submit(**SMALL) for _ in range(30)]
    with httpx.Client(
        base_url=service.base_url or "", headers={"Authorization": f"Bearer {key_b}"}, timeout=10
    ) as client:
        answer = client.post("/jobs", json=SMALL)
    assert answer.status_code == 201, answer.text
    job_b = uuid.UUID(answer.json()["id"])

    service.wait_job(
        job_b, lambda job: job.status != JobStatus.queued, timeout=180, what="to start"
    )
    written = events(service, "status", "attempt")
    [queued_b] = [e.id for e in written if e.job_id == job_b and e.data.get("status") == "queued"]
    claims = [e.job_id for e in written if e.type == "attempt" and e.id > queued_b]
    assert job_b in claims[:2], f"claims after B's submission: {claims[:5]}"
    # Owner A's earlier claims were its own jobs, in submission order (fair share within an
    # owner: priority, then age).
    claims_a = [e.job_id for e in written if e.type == "attempt" and e.job_id != job_b]
    assert claims_a == queued_a[: len(claims_a)]


def running_at_most(written: list[Event], children: set[uuid.UUID]) -> int:
    """The most children running at one time, replaying their status events in commit order
    (a claim locks the sweep's row, so the claims' events follow the order of the checks)."""
    running: set[uuid.UUID] = set()
    most = 0
    for event in written:
        if event.type != "status" or event.job_id not in children:
            continue
        if event.data["status"] == "running":
            running.add(event.job_id)
        else:
            running.discard(event.job_id)
        most = max(most, len(running))
    return most


# 12 children, not 24: on 2 shared cores each child's training process takes seconds to start.
CHILDREN = 12
MAX_PARALLEL = 2


def test_sweep_on_three_workers_keeps_max_parallel_and_survives_sigkill(
    service: Service,
) -> None:
    workers = service.workers("w1", "w2", "w3")
    body: dict[str, Any] = {
        "name": "fair-share",
        "base": SMALL,
        "grid": {"seed": list(range(CHILDREN))},
        "max_parallel": MAX_PARALLEL,
    }
    with service.client(timeout=30) as client:
        answer = client.post("/sweeps", json=body)
    assert answer.status_code == 201, answer.text
    sweep_id = uuid.UUID(answer.json()["id"])

    def children() -> list[Job]:
        with session_scope(service.database_url) as session:
            rows = list(session.scalars(select(Job).where(Job.sweep_id == sweep_id)))
            session.expunge_all()
            return rows

    assert len(children()) == CHILDREN

    # SIGKILL a worker while it trains a child, once a few children are done.
    def victim() -> Job | None:
        rows = children()
        if sum(job.status == JobStatus.succeeded for job in rows) < 3:
            return None
        return next((job for job in rows if job.status == JobStatus.running), None)

    held = wait_for(victim, timeout=300, what="a running child after 3 done", interval=0.05)
    killed = worker_named(workers, held)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(5) == -signal.SIGKILL
    # Still running when its worker died: its training went with it, so it runs again.
    killed_mid_job = service.job(held.id).status == JobStatus.running

    def all_done() -> list[Job] | None:
        rows = children()
        ended = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)
        return rows if all(job.status in ended for job in rows) else None

    done = wait_for(all_done, timeout=600, what="every child to end", interval=0.5)
    assert all(job.status == JobStatus.succeeded for job in done), [
        (job.id, job.status, job.error_code) for job in done
    ]
    ids = {job.id for job in done}
    written = events(service, "status", "attempt")
    assert running_at_most(written, ids) <= MAX_PARALLEL

    # Every child trained once: one attempt each, but the killed worker's child (two); one
    # success each; one metrics record per epoch.
    attempts = Counter(e.job_id for e in written if e.type == "attempt" and e.job_id in ids)
    assert attempts == {job.id: job.attempts for job in done}
    assert {job.id: job.attempts for job in done if job.id != held.id} == {
        job.id: 1 for job in done if job.id != held.id
    }
    assert attempts[held.id] == (2 if killed_mid_job else 1)
    succeeded = Counter(
        e.job_id for e in written if e.type == "status" and e.data["status"] == "succeeded"
    )
    assert succeeded == {job_id: 1 for job_id in ids}
    with session_scope(service.database_url) as session:
        epochs = Counter(
            session.scalars(select(EpochRecord.job_id).where(EpochRecord.job_id.in_(ids)))
        )
    assert epochs == {job_id: 1 for job_id in ids}
