"""The Alembic migrations build exactly the tables of core/store/tables.py, on both backends."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from core.store.migrate import alembic_config, upgrade
from core.store.tables import Base
from testkit.services import fresh_postgres_database


def _differences(url: str) -> list[object]:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


def test_migrations_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    assert _differences(f"sqlite:///{tmp_path / 'service.db'}") == []


def test_migrations_match_the_tables_on_postgresql() -> None:
    with fresh_postgres_database() as url:
        assert _differences(url.replace("postgresql://", "postgresql+psycopg://", 1)) == []


def test_0011_keeps_events_deliveries_and_event_ids_on_sqlite(tmp_path: Path) -> None:
    """SQLite rebuilds `events` to make job_id nullable (issue 19): the drop of the old table
    must not take the webhook deliveries with it (ON DELETE CASCADE), nor hand out again the id
    of a deleted last event."""
    path = tmp_path / "service.db"
    config = alembic_config(f"sqlite:///{path}")
    command.upgrade(config, "0010")
    owner, job = uuid.uuid4().hex, uuid.uuid4().hex
    with sqlite3.connect(path) as db:
        _insert(db, "owners", id=owner, name="a")
        _insert(db, "jobs", id=job, owner_id=owner, status="queued", spec="{}")
        for _ in range(3):
            _insert(db, "events", job_id=job, owner_id=owner, type="status", data="{}")
        db.execute("DELETE FROM events WHERE id = 3")
        _insert(db, "webhook_deliveries", job_id=job, event_id=2, url="https://x", state="pending")
        _insert(db, "webhook_attempts", delivery_id=1, attempt=1, duration_ms=1.0)
    command.upgrade(config, "0011")
    with sqlite3.connect(path) as db:
        counts = [
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("events", "webhook_deliveries", "webhook_attempts")
        ]
        assert counts == [2, 1, 1]
        _insert(db, "events", job_id=job, owner_id=owner, type="status", data="{}")
        assert db.execute("SELECT max(id) FROM events").fetchone()[0] == 4
        with pytest.raises(sqlite3.IntegrityError, match="one_subject"):
            _insert(db, "events", owner_id=owner, type="dataset", data="{}")


def _insert(db: sqlite3.Connection, table: str, **values: object) -> None:
    """A row with the given values and a placeholder in every other NOT NULL column."""
    for _, name, kind, not_null, _, primary in db.execute(f"PRAGMA table_info({table})"):
        if not_null and not primary and name not in values:
            numeric = any(word in kind.upper() for word in ("INT", "FLOAT", "BOOL", "REAL"))
            values[name] = 0 if numeric else "{}" if "JSON" in kind.upper() else "2026-12-08"
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))
