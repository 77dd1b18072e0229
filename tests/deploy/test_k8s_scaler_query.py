"""The KEDA scaler's query (deploy/k8s/base/keda.yaml) counts what the store counts: the running
jobs plus the queued jobs a free worker would claim now (core/store/scheduling.py
next_jobs_query). Run on a real PostgreSQL database, jobs made by the store's own functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.store import jobs, keys, lifecycle, reaping
from core.store.db import session_scope
from core.store.migrate import upgrade
from core.store.scheduling import next_jobs_query
from core.store.sweeps import NewChild, create_sweep
from core.store.tables import Job, JobStatus
from testkit.builders import SPEC, finish_placeholder
from testkit.services import fresh_postgres_database
from tests.deploy.k8s_render import render, scaler_trigger


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


def _scaler_value(session: Session, query: str) -> int:
    return int(session.execute(text(query)).scalar_one())


def _store_value(session: Session, cap: int) -> int:
    running = session.scalar(select(func.count()).where(Job.status == JobStatus.running))
    claimable = session.scalars(next_jobs_query(max_running_per_owner=cap, exclude=[])).all()
    return int(running or 0) + len(claimable)


class Jobs:
    """Jobs in every state, made as the API and the workers make them."""

    def __init__(self, session: Session, cap: int) -> None:
        self.session, self.cap = session, cap

    def owner(self, name: str) -> uuid.UUID:
        owner_id = keys.get_or_create_owner(session=self.session, name=name).id
        self.session.commit()
        return owner_id

    def queued(self, owner_id: uuid.UUID) -> uuid.UUID:
        job, _ = jobs.create_job(
            session=self.session, owner_id=owner_id, spec=dict(SPEC), max_queued=1000
        )
        return job.id

    def running(self, owner_id: uuid.UUID) -> lifecycle.Claim:
        return self.claim(self.queued(owner_id))

    def claim(self, job_id: uuid.UUID) -> lifecycle.Claim:
        claim = lifecycle.claim_job(
            session=self.session, job_id=job_id, worker="w@host", max_running_per_owner=self.cap
        )
        assert isinstance(claim, lifecycle.Claim), claim
        return claim

    def ended(self, owner_id: uuid.UUID, status: JobStatus) -> None:
        claim = self.running(owner_id)
        lifecycle.end_job(
            session=self.session, job_id=claim.job_id, lease_id=claim.lease_id, status=status
        )

    def cancel(self, job_id: uuid.UUID) -> None:
        job = self.session.get(Job, job_id)
        assert job is not None
        jobs.request_cancel(session=self.session, job=job)


def test_scaler_query_counts_what_the_store_counts(database: str) -> None:
    trigger = scaler_trigger(render("external"))
    cap = 8  # MAX_RUNNING_PER_OWNER in crs-config (test_k8s_objects checks the query's number)
    with session_scope(database) as session:
        query = trigger["query"]
        make = Jobs(session, cap)
        assert _scaler_value(session, query) == _store_value(session, cap) == 0

        alice, bob, carol = make.owner("alice"), make.owner("bob"), make.owner("carol")
        # alice: queued, and a job handed back by a worker shutting down (its lease released).
        make.queued(alice)
        handed = make.running(alice)
        lifecycle.release_job(
            session=session, job_id=handed.job_id, lease_id=handed.lease_id, run_seconds=1.0
        )
        # A job whose worker died: back in the queue under the reaper's abandon_job.
        lost = make.running(alice)
        status = reaping.abandon_job(
            session=session,
            job_id=lost.job_id,
            lease_id=lost.lease_id,
            max_attempts=3,
            reason="worker lost",
        )
        assert status == JobStatus.queued
        # Running, and running with a cancel requested (it holds its slot until it stops).
        make.running(alice)
        make.cancel(make.running(alice).job_id)
        # Queued then cancelled; ended in each way.
        make.cancel(make.queued(alice))
        for ended in (JobStatus.failed, JobStatus.cancelled):
            make.ended(alice, ended)
        done = make.running(alice)
        finish_placeholder(session, done)
        # bob at his running cap: his queued jobs wait for his own, not for a worker.
        for _ in range(cap):
            make.running(bob)
        make.queued(bob)
        make.queued(bob)
        # carol's sweep may run one child at a time: one running, two waiting for it.
        _, children, _ = create_sweep(
            session=session,
            owner_id=carol,
            children=[NewChild(point={"seed": s}, spec={**SPEC, "seed": s}) for s in range(3)],
            request={},
            varying=["seed"],
            max_queued=1000,
            max_parallel=1,
        )
        session.commit()
        make.claim(children[0])

        # running: alice 2 + bob 8 + carol 1; claimable: alice's queued, handed back, abandoned.
        assert _store_value(session, cap) == 11 + 3
        assert _scaler_value(session, query) == _store_value(session, cap)

        # The sweep's child ends: the next child becomes claimable.
        lifecycle.end_job(
            session=session,
            job_id=children[0],
            lease_id=_lease(session, children[0]),
            status=JobStatus.failed,
        )
        assert _store_value(session, cap) == 10 + 3 + 2  # both waiting children claimable now
        assert _scaler_value(session, query) == _store_value(session, cap)


def _lease(session: Session, job_id: uuid.UUID) -> uuid.UUID:
    job = session.get(Job, job_id)
    assert job is not None and job.lease_id is not None
    session.rollback()
    return job.lease_id
