"""Fair share: which queued job a free worker claims (issue 10), on both databases."""

from __future__ import annotations

import threading
import uuid

from core.store import jobs, keys, lifecycle, scheduling
from core.store.db import session_scope
from core.store.sweeps import NewChild, create_sweep
from core.store.tables import Job, JobStatus

SPEC = {"architecture": "resnet", "depth": 8, "epochs": 2}


def _owner(url: str, name: str) -> uuid.UUID:
    with session_scope(url) as session:
        owner = keys.get_or_create_owner(session=session, name=name)
        session.commit()
        return owner.id


def _jobs(url: str, owner_id: uuid.UUID, count: int, **columns: object) -> list[uuid.UUID]:
    ids = []
    with session_scope(url) as session:
        for _ in range(count):
            job, _created = jobs.create_job(
                session=session, owner_id=owner_id, spec=SPEC, max_queued=1000
            )
            ids.append(job.id)
        for name, value in columns.items():
            for job_id in ids:
                setattr(session.get(Job, job_id), name, value)
        session.commit()
    return ids


def _claim_next(url: str, worker: str = "w1", hint: uuid.UUID | None = None) -> uuid.UUID | None:
    with session_scope(url) as session:
        claim = scheduling.claim_next(
            session=session, worker=worker, max_running_per_owner=8, hint=hint
        )
    return claim.job_id if isinstance(claim, lifecycle.Claim) else None


def test_the_owner_with_fewer_running_jobs_goes_first(database_url: str) -> None:
    alice, bob = _owner(database_url, "alice"), _owner(database_url, "bob")
    alices = _jobs(database_url, alice, 30)
    assert _claim_next(database_url, hint=alices[0]) == alices[0]  # alice runs one
    (bobs,) = _jobs(database_url, bob, 1)
    # The next message names one of alice's jobs; bob's job is claimed all the same.
    assert _claim_next(database_url, hint=alices[1]) == bobs
    assert _claim_next(database_url) == alices[1]  # then alice again, oldest first


def test_priority_then_age_within_an_owner(database_url: str) -> None:
    alice = _owner(database_url, "alice")
    old = _jobs(database_url, alice, 1)
    urgent = _jobs(database_url, alice, 1, priority=5)
    assert _claim_next(database_url) == urgent[0]
    assert _claim_next(database_url) == old[0]
    assert _claim_next(database_url) is None  # nothing left


def test_sweep_max_parallel_is_never_exceeded(database_url: str) -> None:
    alice = _owner(database_url, "alice")
    with session_scope(database_url) as session:
        _sweep, ids, _ = create_sweep(
            session=session,
            owner_id=alice,
            children=[NewChild(point={"seed": s}, spec={**SPEC, "seed": s}) for s in range(5)],
            request={},
            varying=["seed"],
            max_queued=10,
            max_parallel=2,
        )
    claimed = [_claim_next(database_url, worker=f"w{i}") for i in range(4)]
    assert claimed[:2] == ids[:2] and claimed[2:] == [None, None]
    # A direct claim of a third child is refused too (the sweep's row is the lock).
    with session_scope(database_url) as session:
        refused = lifecycle.claim_job(
            session=session, job_id=ids[2], worker="w9", max_running_per_owner=8
        )
    assert refused == lifecycle.ClaimRefused.owner_busy


def test_concurrent_claims_take_different_jobs(database_url: str) -> None:
    alice = _owner(database_url, "alice")
    ids = _jobs(database_url, alice, 6)
    won: list[uuid.UUID | None] = []

    def claim(worker: str) -> None:
        won.append(_claim_next(database_url, worker=worker))

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [job_id for job_id in won if job_id is not None]
    assert len(claimed) == len(set(claimed))  # never one job twice
    with session_scope(database_url) as session:
        running = [session.get(Job, job_id) for job_id in ids]
        assert sum(1 for job in running if job and job.status == JobStatus.running) == len(claimed)
