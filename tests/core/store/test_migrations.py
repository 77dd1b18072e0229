"""The Alembic migrations build exactly the tables of core/store/tables.py, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from core.store.migrate import upgrade
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
