"""Builders shared by the API tests: an app around test settings, owners with keys, jobs in
every state (moved there through the store's own worker-side functions).

`database_url` is overridden here, with the same two backends as tests/conftest.py's, for speed:
creating and migrating a PostgreSQL database per test took about a second; here one is migrated
per session and emptied before each test, and SQLite files are copied from a migrated template.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from core.settings import Settings
from core.store import keys, lifecycle
from core.store.db import get_engine, session_scope
from core.store.migrate import upgrade
from core.store.tables import Base, JobStatus
from testkit.services import fresh_postgres_database

SPEC = {"architecture": "resnet", "depth": 20, "epochs": 3}


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test: its database, a filesystem broker in its tmp_path, no .env."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "broker_url": f"filesystem://{tmp_path}/broker",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def client_for(settings: Settings) -> TestClient:
    # raise_server_exceptions: a 500 fails the test loudly instead of hiding as a status code.
    return TestClient(create_app(settings), raise_server_exceptions=True)


def new_key(database_url: str, owner: str = "alice") -> str:
    with session_scope(database_url) as session:
        _row, clear = keys.create_key(session=session, owner_name=owner)
    return clear


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def broker_messages(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "broker" / "queue").glob("*.msg"))


class Api:
    """A client plus one owner's key: `api.post_job(depth=56)`."""

    def __init__(self, client: TestClient, database_url: str, key: str) -> None:
        self.client = client
        self.database_url = database_url
        self.key = key
        self.headers = auth(key)

    def post_job(self, headers: Any = None, **fields: Any) -> Any:
        body = {**SPEC, **fields}
        return self.client.post("/jobs", json=body, headers={**self.headers, **(headers or {})})

    def new_job(self, **fields: Any) -> uuid.UUID:
        response = self.post_job(**fields)
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "service.db"
    upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    # Fold the write-ahead log into the file, so that copying the file copies everything.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture(scope="session")
def _postgres_session_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


def _empty_postgres(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with get_engine(url).begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))  # a leaked transaction fails
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: the embedded SQLite and the real PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "service.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_postgres_session_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with client_for(settings) as client:
        yield Api(client, settings.database_url, new_key(settings.database_url))


# --- moving jobs along as a worker would -------------------------------------------------------


def epoch_record(epoch: int, test_accuracy: float = 0.5) -> dict[str, float]:
    return {
        "epoch": epoch,
        "train_loss": 1.0 / epoch,
        "train_accuracy": 0.5,
        "test_loss": 1.2 / epoch,
        "test_accuracy": test_accuracy,
        "learning_rate": 0.1,
        "seconds": 2.0,
        "images_per_second": 1000.0,
    }


def start_job(database_url: str, job_id: uuid.UUID) -> lifecycle.Claim:
    with session_scope(database_url) as session:
        claim = lifecycle.claim_job(
            session=session, job_id=job_id, worker="test-worker", max_running_per_owner=100
        )
    assert isinstance(claim, lifecycle.Claim)
    return claim


def record_epochs(database_url: str, claim: lifecycle.Claim, epochs: int) -> None:
    with session_scope(database_url) as session:
        for epoch in range(1, epochs + 1):
            lifecycle.save_progress(
                session=session,
                job_id=claim.job_id,
                lease_id=claim.lease_id,
                checkpoint=b"checkpoint",
                epoch=epoch,
                batch=0,
                run_seconds=2.0 * epoch,
                metrics=epoch_record(epoch, test_accuracy=0.5 + 0.1 * epoch),
            )


def succeed_job(database_url: str, job_id: uuid.UUID, weights: bytes = b"weights" * 1000) -> str:
    """Run the job to success with the given weights; returns their sha256."""
    claim = start_job(database_url, job_id)
    record_epochs(database_url, claim, claim.spec["epochs"])
    sha256 = hashlib.sha256(weights).hexdigest()
    with session_scope(database_url) as session:
        lifecycle.finish_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            weights=weights,
            sha256=sha256,
            run_seconds=10.0,
            final_test_accuracy=0.8,
            final_test_loss=0.6,
            best_test_accuracy=0.81,
            best_epoch=2,
            results={"per_class_accuracy": [0.8] * 10, "confusion_matrix": [[1] * 10] * 10},
        )
    return sha256


def fail_job(database_url: str, job_id: uuid.UUID) -> None:
    claim = start_job(database_url, job_id)
    with session_scope(database_url) as session:
        lifecycle.end_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            status=JobStatus.failed,
            error_code="out_of_memory",
            error_message="CUDA out of memory; try a smaller batch_size",
        )
