"""Engines and sessions. One engine per database URL and process."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.settings import normalize_url

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
# because of another one's locks, and running it again is the documented remedy.
CONFLICT_STATES = frozenset({"40P01", "40001"})
CONFLICT_ATTEMPTS = 4


def lock_conflict(error: DBAPIError) -> bool:
    """Whether the database rolled the transaction back for another transaction's locks."""
    return getattr(error.orig, "sqlstate", None) in CONFLICT_STATES


def retry_conflicts(work: Callable[[], T], *, what: str) -> T:
    """Run `work` (one whole transaction), again after a short random pause when the database
    rolled it back for a deadlock or a serialization failure; other errors pass through."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return work()
        except DBAPIError as error:
            if not lock_conflict(error) or attempt == CONFLICT_ATTEMPTS:
                raise
            log.info("%s: %s; trying again", what, type(error.orig).__name__)
        time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a worker writes; the timeout waits out a writer's lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine(url: str) -> Engine:
    return _engine(normalize_url(url))


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping replaces connections that a database restart has cut.
    # connect_timeout (seconds) turns an unreachable host into a quick error, not a TCP timeout.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": 5},
    )


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
