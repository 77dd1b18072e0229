"""Store calls that outlive a database restart: each runs in its own session and is retried.

A PostgreSQL restart (or SQLite's write lock) makes a call fail with an OperationalError; the
call is repeated with growing pauses for up to a bound (the lease timeout by default, beyond
which the reaper of another worker may hand the job on anyway).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.db import get_sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_PAUSE_S = 0.5
LONGEST_PAUSE_S = 10.0


def transient(error: DBAPIError) -> bool:
    """A lost connection or a locked database, not a bad statement."""
    return isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated


def store_call(
    settings: Settings,
    action: Callable[[Session], T],
    *,
    what: str,
    give_up_after_s: float | None = None,
) -> T:
    """Run `action` in a fresh session, retrying transient database errors with backoff."""
    budget = settings.lease_timeout_s if give_up_after_s is None else give_up_after_s
    deadline = time.monotonic() + budget
    pause = FIRST_PAUSE_S
    while True:
        session = get_sessionmaker(settings.database_url)()
        try:
            return action(session)
        except DBAPIError as error:
            if not transient(error) or time.monotonic() + pause > deadline:
                raise
            log.warning("%s: database unavailable (%s); retrying in %.1f s", what, error, pause)
        finally:
            session.close()
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE_S)
