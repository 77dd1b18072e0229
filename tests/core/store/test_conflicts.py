"""Transactions that PostgreSQL rolls back for another one's locks (a deadlock) are run again
(`core.store.db.retry_conflicts`, used by job and sweep submission); other errors are not."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.store.db import get_sessionmaker, lock_conflict, retry_conflicts

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_both_sides_of_a_deadlock_commit_when_retried(database_url: str) -> None:
    sessions = get_sessionmaker(database_url)
    with sessions() as session:
        session.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
        session.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        session.commit()
    both_hold_one = threading.Barrier(2, timeout=10)
    calls = {"first": 0, "second": 0}
    errors: list[BaseException] = []

    def transaction(name: str, order: tuple[int, int]) -> None:
        calls[name] += 1
        with sessions() as session:
            session.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": order[0]})
            if calls[name] == 1:  # the first time, each waits until the other holds its row
                both_hold_one.wait()
            session.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": order[1]})
            session.commit()

    def run(name: str, order: tuple[int, int]) -> None:
        try:
            retry_conflicts(lambda: transaction(name, order), what=name)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("first", (1, 2))),
        threading.Thread(target=run, args=("second", (2, 1))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(calls.values()) == [1, 2]  # PostgreSQL ended one of them, which ran again
    with sessions() as session:
        assert session.execute(text("SELECT n FROM pair ORDER BY id")).scalars().all() == [2, 2]


def test_other_database_errors_are_not_retried(database_url: str) -> None:
    sessions = get_sessionmaker(database_url)
    calls = []

    def duplicate() -> None:
        calls.append(1)
        with sessions() as session:
            session.execute(text("CREATE TEMP TABLE once (id int PRIMARY KEY)"))
            session.execute(text("INSERT INTO once VALUES (1), (1)"))

    with pytest.raises(IntegrityError) as raised:
        retry_conflicts(duplicate, what="duplicate")
    assert calls == [1]
    assert isinstance(raised.value, DBAPIError) and not lock_conflict(raised.value)
