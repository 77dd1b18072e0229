"""What a job stores once it ends, on both databases: checkpoints go when a job ends, weights and
checkpoints go when the owner deletes a finished job (the row stays as a tombstone), failed and
cancelled jobs' data goes after the retention period, and the storage quota refuses new jobs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import LargeBinary, select, update

from core.store import jobs, keys, lifecycle, reaping, storage
from core.store.db import session_scope
from core.store.errors import JobStateConflict, StorageQuotaExceeded
from core.store.tables import Base, Checkpoint, Job, JobStatus
from core.store.types import utcnow

SPEC = {"architecture": "resnet", "depth": 8, "epochs": 2}
METRICS = {
    "train_loss": 1.0,
    "train_accuracy": 0.5,
    "test_loss": 1.1,
    "test_accuracy": 0.4,
    "learning_rate": 0.1,
    "seconds": 2.0,
    "images_per_second": 100.0,
}


def _new_job(url: str, owner: str = "alice", **fields: object) -> uuid.UUID:
    with session_scope(url) as session:
        owner_id = keys.get_or_create_owner(session=session, name=owner).id
        session.commit()
        job, created = jobs.create_job(
            session=session, owner_id=owner_id, spec=SPEC, max_queued=100, **fields
        )
        assert created
        return job.id


def _running(url: str, job_id: uuid.UUID, checkpoint: bytes = b"c" * 1000) -> lifecycle.Claim:
    """Claimed, one epoch done and checkpointed, as a worker leaves it."""
    with session_scope(url) as session:
        claim = lifecycle.claim_job(
            session=session, job_id=job_id, worker="w", max_running_per_owner=100
        )
        assert isinstance(claim, lifecycle.Claim)
        lifecycle.save_progress(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            checkpoint=checkpoint,
            epoch=1,
            batch=0,
            run_seconds=1.0,
            metrics={"epoch": 1, **METRICS},
        )
    return claim


def _succeeded(url: str, job_id: uuid.UUID, weights: bytes = b"w" * 5000) -> None:
    claim = _running(url, job_id)
    with session_scope(url) as session:
        lifecycle.finish_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            weights=weights,
            sha256="0" * 64,
            run_seconds=2.0,
            final_test_accuracy=0.9,
            final_test_loss=0.3,
            best_test_accuracy=0.9,
            best_epoch=1,
            results={},
        )


def _ended(
    url: str, job_id: uuid.UUID, status: JobStatus, claim: lifecycle.Claim | None = None
) -> None:
    claim = claim or _running(url, job_id)
    with session_scope(url) as session:
        lifecycle.end_job(session=session, job_id=job_id, lease_id=claim.lease_id, status=status)


def _checkpoint(url: str, job_id: uuid.UUID) -> bytes | None:
    with session_scope(url) as session:
        return lifecycle.load_checkpoint(session=session, job_id=job_id)


def _job(url: str, job_id: uuid.UUID) -> Job:
    with session_scope(url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _delete(url: str, job_id: uuid.UUID) -> Job:
    with session_scope(url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return storage.delete_job_data(session=session, job=job)


def _owner_id(url: str, owner: str = "alice") -> uuid.UUID:
    with session_scope(url) as session:
        owner_id = keys.get_or_create_owner(session=session, name=owner).id
        session.commit()
        return owner_id


# --- checkpoints go when a job ends ------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.failed, JobStatus.cancelled])
def test_end_job_drops_checkpoint(database_url: str, status: JobStatus) -> None:
    job_id = _new_job(database_url)
    claim = _running(database_url, job_id)
    assert _checkpoint(database_url, job_id) is not None  # resumable while running
    _ended(database_url, job_id, status, claim)
    assert _checkpoint(database_url, job_id) is None
    assert _job(database_url, job_id).epochs_done == 1  # the metrics stay


def test_abandon_job_keeps_checkpoint_to_resume_and_drops_it_when_failed(
    database_url: str,
) -> None:
    job_id = _new_job(database_url)
    for attempt, expected in ((1, JobStatus.queued), (2, JobStatus.failed)):
        claim = _running(database_url, job_id, checkpoint=f"attempt {attempt}".encode())
        with session_scope(database_url) as session:
            status = reaping.abandon_job(
                session=session,
                job_id=job_id,
                lease_id=claim.lease_id,
                max_attempts=2,
                reason="test",
            )
        assert status is expected
        if expected is JobStatus.queued:
            assert _checkpoint(database_url, job_id) == b"attempt 1"
    assert _checkpoint(database_url, job_id) is None


def test_cancel_of_handed_back_job_drops_checkpoint(database_url: str) -> None:
    job_id = _new_job(database_url)
    claim = _running(database_url, job_id)
    with session_scope(database_url) as session:
        lifecycle.release_job(
            session=session, job_id=job_id, lease_id=claim.lease_id, run_seconds=1.0
        )
    assert _checkpoint(database_url, job_id) is not None  # queued again, resumable
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert jobs.request_cancel(session=session, job=job).status is JobStatus.cancelled
    assert _checkpoint(database_url, job_id) is None


# --- DELETE: weights and checkpoints go, the row stays ----------------------------------------


def test_delete_succeeded_job_removes_weights_and_keeps_tombstone(database_url: str) -> None:
    job_id = _new_job(database_url)
    _succeeded(database_url, job_id)
    before = utcnow()
    deleted = _delete(database_url, job_id)
    assert deleted.status is JobStatus.succeeded  # what happened to the job stays true
    assert deleted.deleted_at is not None and deleted.deleted_at >= before
    assert deleted.deleted_reason == storage.DeletedBy.owner.value
    with session_scope(database_url) as session:
        assert jobs.weights_info(session=session, job_id=job_id) is None
        assert jobs.load_weights(session=session, job_id=job_id) is None
        assert [r.epoch for r in jobs.epoch_metrics(session=session, job_id=job_id)] == [1]
    assert _job(database_url, job_id).final_test_accuracy == 0.9


def test_delete_twice_changes_nothing_the_second_time(database_url: str) -> None:
    job_id = _new_job(database_url)
    _succeeded(database_url, job_id)
    first = _delete(database_url, job_id).deleted_at
    second = _delete(database_url, job_id).deleted_at
    assert first is not None and second == first


def test_delete_removes_every_table_of_bytes(database_url: str) -> None:
    # A checkpoint left by a job that ended before checkpoints were dropped at the end.
    job_id = _new_job(database_url)
    _ended(database_url, job_id, JobStatus.failed)
    with session_scope(database_url) as session:
        session.add(Checkpoint(job_id=job_id, epoch=1, batch=0, data=b"old", size=3))
        session.commit()
    _delete(database_url, job_id)
    with session_scope(database_url) as session:
        for table in storage.BLOB_TABLES:
            assert session.scalars(select(table).where(table.job_id == job_id)).all() == []


@pytest.mark.parametrize("state", ["queued", "running"])
def test_delete_unfinished_job_is_refused(database_url: str, state: str) -> None:
    job_id = _new_job(database_url)
    if state == "running":
        _running(database_url, job_id)
    with pytest.raises(JobStateConflict, match=f"is {state}; cancel it first"):
        _delete(database_url, job_id)
    job = _job(database_url, job_id)
    assert (job.status.value, job.deleted_at) == (state, None)
    if state == "running":
        assert _checkpoint(database_url, job_id) is not None


def test_delete_is_refused_while_a_job_waits_to_start_from_the_weights(database_url: str) -> None:
    base = _new_job(database_url)
    _succeeded(database_url, base)
    follower = _new_job(database_url, init_from_id=base)
    with pytest.raises(JobStateConflict, match=f"job {follower} \\(queued\\) starts from"):
        _delete(database_url, base)
    with session_scope(database_url) as session:
        assert jobs.weights_info(session=session, job_id=base) is not None
    _succeeded(database_url, follower)
    assert _delete(database_url, base).deleted_at is not None


# --- retention of failed and cancelled jobs -----------------------------------------------------


def _finished_days_ago(url: str, job_id: uuid.UUID, days: float) -> None:
    with session_scope(url) as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(finished_at=utcnow() - timedelta(days=days))
        )
        session.commit()


def test_purge_expired_deletes_only_old_failed_and_cancelled_jobs(database_url: str) -> None:
    old_failed, old_cancelled, recent_failed, old_succeeded = (
        _new_job(database_url) for _ in range(4)
    )
    _ended(database_url, old_failed, JobStatus.failed)
    _ended(database_url, recent_failed, JobStatus.failed)
    with session_scope(database_url) as session:
        job = session.get(Job, old_cancelled)
        assert job is not None
        jobs.request_cancel(session=session, job=job)
    _succeeded(database_url, old_succeeded)
    for job_id in (old_failed, old_cancelled, old_succeeded):
        _finished_days_ago(database_url, job_id, 40)
    _finished_days_ago(database_url, recent_failed, 1)
    # Bytes stored before checkpoints were dropped at the end: what retention is for.
    with session_scope(database_url) as session:
        session.add(Checkpoint(job_id=old_failed, epoch=1, batch=0, data=b"old", size=3))
        session.commit()

    cutoff = utcnow() - timedelta(days=30)
    with session_scope(database_url) as session:
        purged = storage.purge_expired(session=session, ended_before=cutoff)
    assert sorted(purged) == sorted([old_failed, old_cancelled])
    assert _checkpoint(database_url, old_failed) is None
    for job_id in (old_failed, old_cancelled):
        job = _job(database_url, job_id)
        assert job.deleted_at is not None
        assert job.deleted_reason == storage.DeletedBy.retention.value
    for job_id in (recent_failed, old_succeeded):
        assert _job(database_url, job_id).deleted_at is None
    with session_scope(database_url) as session:
        assert jobs.weights_info(session=session, job_id=old_succeeded) is not None
        assert storage.purge_expired(session=session, ended_before=cutoff) == []


def test_purge_expired_works_in_bounded_batches(database_url: str) -> None:
    job_ids = [_new_job(database_url) for _ in range(3)]
    for job_id in job_ids:
        _ended(database_url, job_id, JobStatus.failed)
        _finished_days_ago(database_url, job_id, 10)
    with session_scope(database_url) as session:
        first = storage.purge_expired(session=session, ended_before=utcnow(), limit=2)
        rest = storage.purge_expired(session=session, ended_before=utcnow(), limit=2)
    assert len(first) == 2 and len(rest) == 1
    assert sorted(first + rest) == sorted(job_ids)


# --- the storage quota ------------------------------------------------------------------------


def test_stored_bytes_counts_weights_and_checkpoints_of_one_owner(database_url: str) -> None:
    done, running = _new_job(database_url), _new_job(database_url)
    _succeeded(database_url, done, weights=b"w" * 5000)  # its checkpoint is dropped
    _running(database_url, running, checkpoint=b"c" * 700)
    _succeeded(database_url, _new_job(database_url, owner="bob"), weights=b"x" * 9999)
    with session_scope(database_url) as session:
        used = storage.stored_bytes(session=session, owner_id=_owner_id(database_url))
    assert used == 5000 + 700
    _delete(database_url, done)
    with session_scope(database_url) as session:
        assert storage.stored_bytes(session=session, owner_id=_owner_id(database_url)) == 700


def test_create_job_over_storage_quota_is_refused_until_a_job_is_deleted(
    database_url: str,
) -> None:
    done = _new_job(database_url)
    _succeeded(database_url, done, weights=b"w" * 5000)
    _new_job(database_url, max_stored_bytes=5000)  # at the quota, not over it
    with pytest.raises(StorageQuotaExceeded) as refused:
        _new_job(database_url, max_stored_bytes=4999)
    assert (refused.value.used_bytes, refused.value.limit_bytes) == (5000, 4999)
    assert "over your quota" in str(refused.value) and "DELETE /jobs/{id}" in str(refused.value)
    # Another owner's bytes do not count against alice, nor hers against him.
    _new_job(database_url, owner="bob", max_stored_bytes=0)
    _delete(database_url, done)
    _new_job(database_url, max_stored_bytes=4999)


def test_blob_tables_are_every_table_of_job_bytes() -> None:
    """Deletion and the quota find every table of bytes; each must say whose and how many."""
    with_bytes = {
        table.name
        for table in Base.metadata.sorted_tables
        if any(isinstance(column.type, LargeBinary) for column in table.columns)
    } - {"dataset_chunks"}  # an owner's data set files (issue 19), counted by core.store.datasets
    assert {"checkpoints", "weights"} <= with_bytes
    assert {table.__tablename__ for table in storage.BLOB_TABLES} == with_bytes
    for table in storage.BLOB_TABLES:
        columns = table.__table__.columns
        assert {"job_id", "size"} <= set(columns.keys()), table.__tablename__
        assert [key.column.table.name for key in columns["job_id"].foreign_keys] == ["jobs"]
