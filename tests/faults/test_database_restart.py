"""PostgreSQL restarts under a running job: the API says 503 meanwhile, the job completes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store.tables import JobStatus
from testkit.processes import Processes, wait_for
from testkit.servers import PostgresServer, RedisServer, postgres_server
from tests.faults.conftest import SPEC, Service, service_settings

pytestmark = pytest.mark.slow

OUTAGE_S = 3.0  # longer than several heartbeats, shorter than the lease timeout


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """Started before (and so stopped after) the processes that use it."""
    import psycopg

    from core.store.migrate import upgrade

    with postgres_server() as server:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE service")
        upgrade(server.url("service"))
        yield server


@pytest.fixture
def service_on_own_postgres(
    own_postgres: PostgresServer, cifar_dir: Path, processes: Processes, redis_server: RedisServer
) -> Iterator[Service]:
    from core.store.db import _engine

    yield Service(
        processes, service_settings(own_postgres.url("service"), redis_server.url(), cifar_dir)
    )
    # This test's own engine points at a server about to go; no pooled connection may outlive it.
    _engine.cache_clear()


def test_postgres_restart_mid_job_answers_503_then_job_completes(
    service_on_own_postgres: Service, own_postgres: PostgresServer
) -> None:
    service = service_on_own_postgres
    service.worker("w1")
    job_id = service.submit()
    service.wait_job(job_id, lambda job: job.epochs_done >= 1, timeout=120, what="its first epoch")

    with service.client() as client:
        assert client.get(f"/jobs/{job_id}").status_code == 200
        own_postgres.stop(mode="fast")  # every connection is cut, as in a restart or failover
        down_since = time.monotonic()
        during = client.get(f"/jobs/{job_id}")
        assert during.status_code == 503, during.text
        assert during.json()["error"]["code"] == "database_unavailable"
        assert during.headers.get("Retry-After")
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        submitted = client.post("/jobs", json=SPEC)
        assert submitted.status_code == 503, submitted.text

        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_since)))
        own_postgres.start()
        wait_for(
            lambda: client.get(f"/jobs/{job_id}").status_code == 200,
            timeout=15,
            what="the API to answer again",
        )
        assert client.get("/healthz").status_code == 200

    job = service.wait_done(job_id, timeout=120)
    assert job.status == JobStatus.succeeded, service.describe(job_id)
    assert job.attempts == 1
    assert service.epochs(job_id) == list(range(1, SPEC["epochs"] + 1))
