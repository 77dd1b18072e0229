"""The broker goes away: queued messages survive a restart, and a submission it cannot take
creates nothing."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from core.store.db import session_scope
from core.store.tables import Job, JobStatus
from testkit.servers import RedisServer
from tests.faults.conftest import SPEC, Service

pytestmark = pytest.mark.slow

# A queued job whose message is gone must be sent again by then (seconds; two short jobs included).
REQUEUE_WITHIN_S = 30.0


def test_redis_restart_loses_no_job(service: Service, redis_server: RedisServer) -> None:
    """Redis (append-only file, as in production) restarts while one job runs and two wait;
    the API's and the worker's connections to it are cut and must be made again."""
    worker = service.worker("w1")
    job_ids = [
        service.submit(epochs=epochs, seed=seed) for seed, epochs in ((1, 2), (2, 1), (3, 1))
    ]
    service.wait_job(
        job_ids[0],
        lambda job: service.checkpoint_at(job_ids[0]) is not None,
        timeout=120,
        what="training (a first checkpoint)",
    )
    assert [service.job(j).status for j in job_ids[1:]] == [JobStatus.queued] * 2

    redis_server.restart()
    job_ids.append(service.submit(epochs=1, seed=4))  # through the API's new connection

    for job_id in job_ids:
        job = service.wait_done(job_id, timeout=120)
        assert job.status == JobStatus.succeeded, service.describe(job_id)
        assert job.attempts == 1
        assert service.epochs(job_id) == list(range(1, job.spec["epochs"] + 1))
    assert worker.alive()


def test_broker_losing_its_queue_loses_no_job(service: Service, redis_server: RedisServer) -> None:
    """Redis comes back empty (a lost volume, a failover to a replica that had not caught up, an
    eviction): the jobs are still queued in the database, the source of truth, and must run."""
    service.api()
    job_ids = [service.submit(epochs=1, seed=seed) for seed in (1, 2)]
    redis_server.stop()
    shutil.rmtree(redis_server.directory)
    redis_server.start()
    service.worker("w1")

    for job_id in job_ids:
        job = service.wait_done(job_id, timeout=REQUEUE_WITHIN_S)
        assert job.status == JobStatus.succeeded, service.describe(job_id)


def test_submit_while_broker_down_answers_503_and_creates_nothing(
    service: Service, redis_server: RedisServer
) -> None:
    service.api()
    redis_server.stop()
    with service.client() as client:
        refused = client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "while-down"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "queue_unavailable"
        assert "Retry-After" in refused.headers
        with session_scope(service.database_url) as session:
            assert session.scalar(select(func.count()).select_from(Job)) == 0

        redis_server.start()
        # The same key again: the failed attempt left nothing behind to collide with.
        accepted = client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "while-down"})
        assert accepted.status_code == 201, accepted.text
    job = service.job(accepted.json()["id"])
    assert job.status == JobStatus.queued and job.enqueued_at is not None
