"""deploy/postgres/init-roles.sh run for real against the local PostgreSQL, as the postgres image
runs it on its first start: the owner role migrates (python -m core.store.migrate with
MIGRATION_DATABASE_URL), the service's role does a job's whole life through the store, and may
not change the schema."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from core.store import jobs, keys, lifecycle, storage
from core.store.db import get_engine, session_scope
from core.store.tables import Job, JobStatus
from core.store.types import utcnow
from testkit.services import PG_HOST, PG_PORT, PG_USER, fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/postgres/init-roles.sh"


@pytest.fixture(scope="module")
def roles() -> Iterator[dict[str, str]]:
    """A fresh database set up by the script, with roles of their own (roles are cluster-wide)."""
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"crs_owner_{suffix}", f"crs_app_{suffix}"
    try:
        with fresh_postgres_database() as url:
            database = url.rsplit("/", 1)[1]
            env = {
                **os.environ,
                "PGHOST": PG_HOST,
                "PGPORT": str(PG_PORT),
                "POSTGRES_USER": PG_USER,
                "POSTGRES_DB": database,
                "DB_OWNER_USER": owner,
                "DB_OWNER_PASSWORD": "owner-secret",
                "DB_APP_USER": app,
                "DB_APP_PASSWORD": "app-secret",
            }
            done = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            base = f"postgresql://{{}}:{{}}@{PG_HOST}:{PG_PORT}/{database}"
            yield {
                "owner": owner,
                "app": app,
                "owner_url": base.format(owner, "owner-secret"),
                "app_url": base.format(app, "app-secret"),
            }
            for role_url in (base.format(owner, "owner-secret"), base.format(app, "app-secret")):
                get_engine(role_url).dispose()
    finally:
        admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            for role in (app, owner):
                connection.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="module")
def migrated(roles: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrations as docker-compose.yml's API runs them: the service's DATABASE_URL, the owner's
    MIGRATION_DATABASE_URL."""
    env = {
        **os.environ,
        "DATABASE_URL": roles["app_url"],
        "MIGRATION_DATABASE_URL": roles["owner_url"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "core.store.migrate"],
        cwd=tmp_path_factory.mktemp("migrate"),  # no .env from the checkout
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return roles


def _as(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def test_roles_are_not_superusers_and_the_owner_owns_the_tables(migrated: dict[str, str]) -> None:
    with psycopg.connect(migrated["app_url"]) as connection:
        rows = connection.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
            "WHERE rolname IN (%s, %s)",
            (migrated["owner"], migrated["app"]),
        ).fetchall()
        assert sorted(rows) == sorted(
            [(migrated["owner"], False, False, False), (migrated["app"], False, False, False)]
        )
        owners = connection.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert owners == [(migrated["owner"],)]


def test_service_role_runs_a_job_through_its_whole_life(migrated: dict[str, str]) -> None:
    url = migrated["app_url"]
    with session_scope(url) as session:
        _row, _key = keys.create_key(session=session, owner_name="alice")
        owner_id = keys.get_or_create_owner(session=session, name="alice").id
        session.commit()
        job, _ = jobs.create_job(
            session=session,
            owner_id=owner_id,
            spec={"architecture": "resnet", "depth": 8, "epochs": 1},
            max_queued=10,
            max_stored_bytes=1 << 30,
        )
        jobs.mark_enqueued(session=session, job_id=job.id)
        claim = lifecycle.claim_job(
            session=session, job_id=job.id, worker="w", max_running_per_owner=5
        )
        assert isinstance(claim, lifecycle.Claim)
        lifecycle.heartbeat(session=session, job_id=job.id, lease_id=claim.lease_id)
        lifecycle.save_progress(
            session=session,
            job_id=job.id,
            lease_id=claim.lease_id,
            checkpoint=b"checkpoint",
            epoch=1,
            batch=0,
            run_seconds=1.0,
        )
        lifecycle.finish_job(
            session=session,
            job_id=job.id,
            lease_id=claim.lease_id,
            weights=b"weights",
            sha256="0" * 64,
            run_seconds=2.0,
            final_test_accuracy=0.5,
            final_test_loss=1.0,
            best_test_accuracy=0.5,
            best_epoch=1,
            results={},
        )
        storage.delete_job_data(session=session, job=job)
        assert storage.purge_expired(session=session, ended_before=utcnow()) == []
        done = session.get(Job, job.id)
        assert done is not None
        assert (done.status, done.deleted_reason) == (JobStatus.succeeded, "owner")


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE jobs ADD COLUMN intruder int",
        "DROP TABLE epoch_metrics",
        "TRUNCATE jobs",
        "CREATE ROLE intruder",
        "CREATE SCHEMA intruder",
    ],
)
def test_service_role_cannot_change_the_schema(migrated: dict[str, str], sql: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(migrated["app_url"], sql)
