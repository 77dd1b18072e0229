"""Upgrading keeps every row (docs/RELIABILITY.md): a database filled at an old revision comes out
of `upgrade` to head with the same rows, ids and values in every table.

SQLite changes a column by copying the table, dropping the old one and renaming the copy; with
foreign keys on, the drop of `jobs` would delete (ON DELETE CASCADE) or blank (SET NULL) every row
that refers to a job. Each start revision below comes before one of those rebuilds (0005, 0006
and 0010 rebuild `jobs`, 0011 rebuilds `events`), with the tables that exist by then filled."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.dialects import sqlite

from core.settings import normalize_url
from core.store.db import get_engine
from core.store.migrate import alembic_config, upgrade
from core.store.tables import Base
from testkit.services import fresh_postgres_database

Rows = dict[str, list[dict[str, Any]]]
# 0001: the first tables; 0004: events, webhooks, artifacts; 0005: sweeps, before 0006's
# rebuild; 0009: attempts, worker data, data sets, before 0010's; 0010: before 0011's.
STARTS = ["0001", "0004", "0005", "0009", "0010"]


@pytest.mark.parametrize("start", STARTS)
def test_upgrade_keeps_every_row_on_sqlite(tmp_path: Path, start: str) -> None:
    _upgrade_keeps_every_row(f"sqlite:///{tmp_path / 'service.db'}", start)


@pytest.mark.parametrize("start", ["0001", "0009"])
def test_upgrade_keeps_every_row_on_postgresql(start: str) -> None:
    with fresh_postgres_database() as url:
        _upgrade_keeps_every_row(normalize_url(url), start)


def test_an_upgrade_leaving_a_dangling_reference_is_rolled_back_whole(tmp_path: Path) -> None:
    """Foreign keys are off while SQLite migrates, so PRAGMA foreign_key_check runs before the
    COMMIT: a row that refers to nothing (here one from before) fails the upgrade loudly, and
    the single transaction takes every revision's DDL back with it."""
    path = tmp_path / "service.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0009")
    owner = uuid.uuid4().hex
    with sqlite3.connect(path) as db:  # sqlite3 leaves foreign keys off: the orphan goes in
        db.execute("INSERT INTO owners (id, name, created_at) VALUES (?, 'a', '2026')", [owner])
        db.execute(
            "INSERT INTO events (job_id, owner_id, type, data, created_at)"
            " VALUES (?, ?, 'status', '{}', '2026')",
            [uuid.uuid4().hex, owner],
        )
    with pytest.raises(RuntimeError, match=r"rolled back: 1 rows .*events rowid 1 -> jobs"):
        upgrade(url)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0009",)]
        jobs = [row[1] for row in db.execute("PRAGMA table_info(jobs)")]
        events = [row[1] for row in db.execute("PRAGMA table_info(events)")]
        assert "reused_from" not in jobs and "dataset_id" not in events  # 0010, 0011 undone
        assert db.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_the_service_connections_keep_foreign_keys_on_after_an_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    with get_engine(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _upgrade_keeps_every_row(url: str, start: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, start)
    with _engine(url) as engine, engine.begin() as connection:
        _fill(connection)
        before = _rows(connection)
    command.upgrade(config, "head")
    with _engine(url) as engine, engine.connect() as connection:
        after = _rows(connection)
    assert set(before) <= set(after)
    assert all(before.values()), "a table the test left empty"
    changed = [
        table
        for table, rows in before.items()
        if [{name: row[name] for name in rows[0]} for row in after[table]] != rows
    ]
    assert not changed, f"rows lost or changed by the upgrade from {start}: {changed}"


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _fill(connection: sa.Connection) -> None:
    """One row in every table, parents first, with every column given a value: each foreign key
    (nullable ones and a table's references to itself included) names the parent's row."""
    reflected = sa.MetaData()
    reflected.reflect(connection)
    keys: dict[str, Any] = {}
    for table in reflected.sorted_tables:
        if table.name == "alembic_version":
            continue
        values: dict[str, Any] = {}
        later: dict[str, str] = {}
        for column in table.columns:
            parent = _parent(column)
            if parent == table.name:
                later[column.name] = parent
            elif parent is not None:
                values[column.name] = keys[parent]
            elif not _generated(table, column):
                values[column.name] = _value(table.name, column)
        typed = sa.table(table.name, *[sa.column(n, _head_type(table.name, n)) for n in values])
        if "id" not in table.columns:  # no table refers to one without an id
            connection.execute(sa.insert(typed).values(values))
            continue
        # Every foreign key refers to an `id`; RETURNING gives a generated one.
        key = sa.column("id", _head_type(table.name, "id"))
        if "id" not in values:
            typed.append_column(key)
        else:
            key = typed.c.id
        keys[table.name] = connection.scalar(sa.insert(typed).values(values).returning(key))
        for name in later:
            itself = sa.table(table.name, sa.column(name, key.type), sa.column("id", key.type))
            update = sa.update(itself).where(itself.c.id == keys[table.name])
            connection.execute(update.values({name: keys[table.name]}))


def _parent(column: sa.Column[Any]) -> str | None:
    return next((key.column.table.name for key in column.foreign_keys), None)


def _generated(table: sa.Table, column: sa.Column[Any]) -> bool:
    """An integer primary key of its own: the database numbers it."""
    alone = len(table.primary_key.columns) == 1
    return alone and column.primary_key and isinstance(column.type, sa.Integer)


def _head_type(table: str, column: str) -> sa.types.TypeEngine[Any]:
    """The type of core/store/tables.py (a Uuid column reflects as CHAR(32) on SQLite)."""
    head = Base.metadata.tables.get(table)
    if head is not None and column in head.columns:
        return head.columns[column].type
    return sa.types.NULLTYPE


def _value(table: str, column: sa.Column[Any]) -> Any:
    kind = _head_type(table, column.name)
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    kind = kind.dialect_impl(sqlite.dialect())  # a with_variant type's general form
    if isinstance(kind, sa.Uuid):
        return uuid.uuid4()
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 7
    if isinstance(kind, sa.Float | sa.Numeric):
        return 0.5
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC)
    if isinstance(kind, sa.JSON):
        return {"kept": [1, 2]}
    if isinstance(kind, sa.LargeBinary):
        return b"kept"
    if isinstance(kind, sa.String):
        return "kept"[: kind.length or 4]
    raise AssertionError(f"{table}.{column.name}: no test value for {kind!r}")


def _rows(connection: sa.Connection) -> Rows:
    tables = sa.inspect(connection).get_table_names()
    return {
        table: [
            dict(row)
            for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).mappings()
        ]
        for table in sorted(tables)
        if table != "alembic_version"
    }
