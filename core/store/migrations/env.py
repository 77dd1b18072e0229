"""Alembic environment: the URL comes from the caller (core.store.migrate) or the settings.

On SQLite, Alembic changes a column by copying the table, dropping the old one and renaming the
copy ("batch" mode). With foreign keys enforced, as core.store.db has them for every connection,
dropping `jobs` deletes (ON DELETE CASCADE) or blanks (SET NULL) every row that refers to a job:
events, metrics, weights, artifacts, deliveries... Alembic's documentation asks for
PRAGMA foreign_keys=OFF while batch operations run, and a pragma cannot change inside a
transaction, so SQLite migrations get a connection of their own: foreign keys off from the
start, all revisions in one transaction (BEGIN emitted here: pysqlite would otherwise commit
each DDL statement on its own), PRAGMA foreign_key_check before the COMMIT, and the connection
closed afterwards, so no connection with foreign keys off ever reaches the service."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

from core.settings import get_settings, normalize_url
from core.store.db import get_engine
from core.store.tables import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _sqlite_engine(sqlite_url: str) -> Engine:
    # NullPool: the connection with foreign keys off is closed, never pooled for reuse.
    engine = create_engine(sqlite_url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN/COMMIT; _begin emits them
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=OFF")  # before any transaction: a no-op inside one
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE: the write lock up front, so a running service waits instead of failing
        # halfway through the upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _check_foreign_keys(connection: Connection) -> None:
    """Fail (and so roll the upgrade back) if a row refers to a row that is not there."""
    broken = connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        shown = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in broken[:10])
        raise RuntimeError(
            f"migration rolled back: {len(broken)} rows refer to rows that are gone ({shown})"
        )


def _run_online() -> None:
    normal = normalize_url(url)
    sqlite = make_url(normal).get_backend_name() == "sqlite"
    engine = _sqlite_engine(normal) if sqlite else get_engine(url)
    try:
        with engine.connect() as connection:
            # render_as_batch lets ALTER TABLE work on SQLite too. transactional_ddl: one
            # transaction for every revision on SQLite too (PostgreSQL has it already).
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,
                transactional_ddl=True,
            )
            with context.begin_transaction():
                before = context.get_context().get_current_heads()
                context.run_migrations()
                if sqlite and context.get_context().get_current_heads() != before:
                    _check_foreign_keys(connection)
    finally:
        if sqlite:
            engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_online()
