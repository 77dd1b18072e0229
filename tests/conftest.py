"""Fixtures shared by the API, worker and store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.services import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: the embedded SQLite and the real PostgreSQL."""
    from core.store.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'service.db'}"
        upgrade(url)
        yield url
    else:
        with fresh_postgres_database() as url:
            upgrade(url)
            yield url
