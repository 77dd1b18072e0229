"""Creating, listing and cancelling jobs; owners' keys."""

from __future__ import annotations

import uuid

import pytest

from core.store import jobs, keys
from core.store.db import session_scope
from core.store.errors import IdempotencyConflict, JobNotFound, JobStateConflict, QuotaExceeded
from core.store.tables import JobStatus

SPEC = {"architecture": "resnet", "depth": 20, "epochs": 3}


def _owner(url: str, name: str) -> uuid.UUID:
    with session_scope(url) as session:
        return keys.get_or_create_owner(session=session, name=name).id


def test_create_job_over_queued_cap_is_refused(database_url: str) -> None:
    owner = _owner(database_url, "alice")
    with session_scope(database_url) as session:
        for _ in range(2):
            jobs.create_job(session=session, owner_id=owner, spec=SPEC, max_queued=2)
        with pytest.raises(QuotaExceeded) as refused:
            jobs.create_job(session=session, owner_id=owner, spec=SPEC, max_queued=2)
    assert refused.value.retry_after_s > 0


def test_create_job_same_idempotency_key_returns_same_job(database_url: str) -> None:
    owner = _owner(database_url, "alice")
    with session_scope(database_url) as session:
        first, created = jobs.create_job(
            session=session,
            owner_id=owner,
            spec=SPEC,
            max_queued=5,
            idempotency_key="k1",
            request_hash="h1",
        )
        again, created_again = jobs.create_job(
            session=session,
            owner_id=owner,
            spec=SPEC,
            max_queued=5,
            idempotency_key="k1",
            request_hash="h1",
        )
        assert (created, created_again, again.id) == (True, False, first.id)
        with pytest.raises(IdempotencyConflict):
            jobs.create_job(
                session=session,
                owner_id=owner,
                spec=SPEC,
                max_queued=5,
                idempotency_key="k1",
                request_hash="h2",
            )


def test_get_job_of_another_owner_is_not_found(database_url: str) -> None:
    alice, bob = _owner(database_url, "alice"), _owner(database_url, "bob")
    with session_scope(database_url) as session:
        job, _ = jobs.create_job(session=session, owner_id=alice, spec=SPEC, max_queued=5)
        with pytest.raises(JobNotFound):
            jobs.get_job(session=session, owner_id=bob, job_id=job.id)


def test_list_jobs_pages_newest_first(database_url: str) -> None:
    owner = _owner(database_url, "alice")
    with session_scope(database_url) as session:
        made = [
            jobs.create_job(session=session, owner_id=owner, spec=SPEC, max_queued=10)[0].id
            for _ in range(5)
        ]
        seen: list[uuid.UUID] = []
        before = None
        while True:
            page = jobs.list_jobs(session=session, owner_id=owner, limit=2, before=before)
            if not page:
                break
            seen += [job.id for job in page]
            before = (page[-1].created_at, page[-1].id)
    assert seen == list(reversed(made))


def test_request_cancel_queued_then_terminal_conflicts(database_url: str) -> None:
    owner = _owner(database_url, "alice")
    with session_scope(database_url) as session:
        job, _ = jobs.create_job(session=session, owner_id=owner, spec=SPEC, max_queued=5)
        assert jobs.request_cancel(session=session, job=job).status is JobStatus.cancelled
        with pytest.raises(JobStateConflict):
            jobs.request_cancel(session=session, job=job)


def test_authenticate_accepts_key_until_revoked(database_url: str) -> None:
    with session_scope(database_url) as session:
        row, clear = keys.create_key(session=session, owner_name="alice")
    with session_scope(database_url) as session:
        owner = keys.authenticate(session=session, key=clear)
        assert owner is not None and owner.name == "alice"
        assert keys.authenticate(session=session, key=clear[:-1] + "x") is None
        assert keys.revoke_key(session=session, key_id=row.id)
    with session_scope(database_url) as session:
        assert keys.authenticate(session=session, key=clear) is None
