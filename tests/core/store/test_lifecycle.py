"""Claims, leases and hand-backs on both databases: the rules that keep a job from running twice."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.store import jobs, keys, lifecycle, reaping
from core.store.db import session_scope
from core.store.tables import EpochRecord, Job, JobStatus
from core.store.types import utcnow

SPEC = {"architecture": "resnet", "depth": 8, "epochs": 2}


def _metrics(epoch: int) -> dict[str, float]:
    return {
        "epoch": epoch,
        "train_loss": 1.0,
        "train_accuracy": 0.5,
        "test_loss": 1.1,
        "test_accuracy": 0.4,
        "learning_rate": 0.1,
        "seconds": 2.0,
        "images_per_second": 100.0,
    }


def _new_job(url: str, owner: str = "alice") -> uuid.UUID:
    with session_scope(url) as session:
        owner_row = keys.get_or_create_owner(session=session, name=owner)
        session.commit()
        job, created = jobs.create_job(
            session=session, owner_id=owner_row.id, spec=SPEC, max_queued=10
        )
        assert created
        return job.id


def _claim(url: str, job_id: uuid.UUID, worker: str = "w1") -> lifecycle.Claim:
    with session_scope(url) as session:
        claim = lifecycle.claim_job(
            session=session, job_id=job_id, worker=worker, max_running_per_owner=5
        )
    assert isinstance(claim, lifecycle.Claim)
    return claim


def test_claim_second_delivery_is_refused(database_url: str) -> None:
    job_id = _new_job(database_url)
    first = _claim(database_url, job_id)
    with session_scope(database_url) as session:
        again = lifecycle.claim_job(
            session=session, job_id=job_id, worker="w2", max_running_per_owner=5
        )
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.attempts, job.lease_id) == (JobStatus.running, 1, first.lease_id)
    assert again is lifecycle.ClaimRefused.not_queued


def test_claim_owner_at_running_cap_is_deferred(database_url: str) -> None:
    first, second = _new_job(database_url), _new_job(database_url)
    _claim(database_url, first)
    with session_scope(database_url) as session:
        refused = lifecycle.claim_job(
            session=session, job_id=second, worker="w2", max_running_per_owner=1
        )
    assert refused is lifecycle.ClaimRefused.owner_busy


def test_write_with_stale_lease_changes_nothing(database_url: str) -> None:
    job_id = _new_job(database_url)
    claim = _claim(database_url, job_id)
    with session_scope(database_url) as session:
        status = reaping.abandon_job(
            session=session, job_id=job_id, lease_id=claim.lease_id, max_attempts=3, reason="test"
        )
    assert status is JobStatus.queued
    second = _claim(database_url, job_id, worker="w2")
    assert second.attempt == 2
    with session_scope(database_url) as session, pytest.raises(lifecycle.LeaseLost):
        lifecycle.save_progress(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            checkpoint=b"stale",
            epoch=1,
            batch=0,
            run_seconds=1.0,
            metrics=_metrics(1),
        )
    with session_scope(database_url) as session:
        assert lifecycle.load_checkpoint(session=session, job_id=job_id) is None
        assert session.scalars(select(EpochRecord)).all() == []


def test_save_progress_repeated_epoch_keeps_one_record(database_url: str) -> None:
    job_id = _new_job(database_url)
    claim = _claim(database_url, job_id)
    for epoch, data in ((1, b"one"), (2, b"two"), (2, b"two again")):
        with session_scope(database_url) as session:
            lifecycle.save_progress(
                session=session,
                job_id=job_id,
                lease_id=claim.lease_id,
                checkpoint=data,
                epoch=epoch,
                batch=0,
                run_seconds=float(epoch),
                metrics=_metrics(epoch),
            )
    with session_scope(database_url) as session:
        records = jobs.epoch_metrics(session=session, job_id=job_id)
        assert [r.epoch for r in records] == [1, 2]
        assert lifecycle.load_checkpoint(session=session, job_id=job_id) == b"two again"
        job = session.get(Job, job_id)
        assert job is not None and job.epochs_done == 2


def test_finish_job_stores_weights_and_drops_checkpoint(database_url: str) -> None:
    job_id = _new_job(database_url)
    claim = _claim(database_url, job_id)
    payload = bytes(range(256)) * 10_000  # 2.5 MB, read back in chunks
    with session_scope(database_url) as session:
        lifecycle.save_progress(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            checkpoint=b"ckpt",
            epoch=2,
            batch=0,
            run_seconds=2.0,
            metrics=_metrics(2),
        )
        lifecycle.finish_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            weights=payload,
            sha256="0" * 64,
            run_seconds=3.0,
            final_test_accuracy=0.9,
            final_test_loss=0.3,
            best_test_accuracy=0.91,
            best_epoch=1,
            results={"per_class_accuracy": [0.9] * 10},
        )
    with session_scope(database_url) as session:
        assert lifecycle.load_checkpoint(session=session, job_id=job_id) is None
        info = jobs.weights_info(session=session, job_id=job_id)
        assert info == (len(payload), "0" * 64)
        streamed = b"".join(
            jobs.iter_weights(session=session, job_id=job_id, size=len(payload), chunk=1 << 20)
        )
        assert streamed == payload
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.lease_id, job.final_test_accuracy) == (
            JobStatus.succeeded,
            None,
            0.9,
        )


def test_release_job_does_not_count_an_attempt(database_url: str) -> None:
    job_id = _new_job(database_url)
    claim = _claim(database_url, job_id)
    with session_scope(database_url) as session:
        lifecycle.release_job(
            session=session, job_id=job_id, lease_id=claim.lease_id, run_seconds=5.0
        )
        assert reaping.undispatched_jobs(session=session, older_than_s=0) == [job_id]
    again = _claim(database_url, job_id, worker="w2")
    assert again.attempt == 1
    assert again.run_seconds == 5.0


def test_reaper_requeues_stale_job_then_fails_it_at_attempt_limit(database_url: str) -> None:
    job_id = _new_job(database_url)
    for attempt in (1, 2):
        _claim(database_url, job_id, worker=f"w{attempt}")
        with session_scope(database_url) as session:
            future = utcnow() + timedelta(seconds=1)
            assert reaping.stale_jobs(session=session, stale_before=future) == [job_id]
            status = reaping.abandon_job(
                session=session,
                job_id=job_id,
                lease_id=None,
                max_attempts=2,
                reason="heartbeat lost",
                stale_before=future,
            )
        assert status is (JobStatus.queued if attempt == 1 else JobStatus.failed)
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.error_code == "worker_lost"
        assert "2 times" in (job.error_message or "")


def test_reaper_leaves_fresh_heartbeat_alone(database_url: str) -> None:
    job_id = _new_job(database_url)
    _claim(database_url, job_id)
    past = utcnow() - timedelta(seconds=60)
    with session_scope(database_url) as session:
        assert reaping.stale_jobs(session=session, stale_before=past) == []
        status = reaping.abandon_job(
            session=session,
            job_id=job_id,
            lease_id=None,
            max_attempts=3,
            reason="test",
            stale_before=past,
        )
    assert status is None


def test_heartbeat_reports_cancel_request(database_url: str) -> None:
    job_id = _new_job(database_url)
    claim = _claim(database_url, job_id)
    with session_scope(database_url) as session:
        assert lifecycle.heartbeat(session=session, job_id=job_id, lease_id=claim.lease_id) is False
        job = session.get(Job, job_id)
        assert job is not None
        jobs.request_cancel(session=session, job=job)
        assert lifecycle.heartbeat(session=session, job_id=job_id, lease_id=claim.lease_id) is True
