"""Failed authentication: limited per client address (429 with Retry-After), unknown keys
remembered briefly so that repeating one costs no query, other addresses unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.app import create_app
from core.store.db import get_engine
from tests.api.conftest import auth, make_settings, new_key

MAX_FAILURES = 5


@contextmanager
def _client(settings: Any, address: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings), client=(address, 50000)) as client:
        yield client


@contextmanager
def _count_queries(database_url: str) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = get_engine(database_url)

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_auth_failures_past_the_limit_are_429_for_that_address_only(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path, auth_max_failures=MAX_FAILURES, auth_failure_window_s=60
    )
    key = new_key(database_url)
    app = create_app(settings)
    with (
        TestClient(app, client=("203.0.113.7", 50000)) as attacker,
        TestClient(app, client=("198.51.100.2", 50000)) as user,
    ):
        for attempt in range(MAX_FAILURES):
            wrong = auth(f"crs_wrong{attempt}")
            assert attacker.get("/jobs", headers=wrong).status_code == 401, attempt
        refused = attacker.get("/jobs", headers=auth("crs_wrong-again"))
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_failures"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Even a valid key not yet seen waits: it would cost a look-up like any guess.
        assert attacker.get("/jobs", headers=auth(key)).status_code == 429
        # Another address is not affected, with its correct key.
        assert user.get("/jobs", headers=auth(key)).status_code == 200
        # A key the API already knows keeps working from the limited address (no look-up).
        assert attacker.get("/jobs", headers=auth(key)).status_code == 200


def test_auth_failures_are_forgotten_after_the_window(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import auth as auth_module

    settings = make_settings(database_url, tmp_path, auth_max_failures=2, auth_failure_window_s=30)
    key = new_key(database_url)
    with _client(settings, "203.0.113.9") as client:
        for attempt in range(2):
            assert client.get("/jobs", headers=auth(f"crs_x{attempt}")).status_code == 401
        assert client.get("/jobs", headers=auth(key)).status_code == 429
        now = auth_module.time.monotonic()
        monkeypatch.setattr(auth_module.time, "monotonic", lambda: now + 31)
        assert client.get("/jobs", headers=auth(key)).status_code == 200


def test_auth_repeated_unknown_key_is_not_looked_up_each_time(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path, auth_max_failures=1000, auth_negative_cache_s=60
    )
    with _client(settings, "203.0.113.11") as client:
        wrong = auth("crs_" + "B" * 43)
        with _count_queries(database_url) as first:
            assert client.get("/jobs", headers=wrong).status_code == 401
        assert any("api_keys" in statement for statement in first), first
        with _count_queries(database_url) as repeated:
            for _ in range(20):
                response = client.get("/jobs", headers=wrong)
                assert response.status_code == 401
                assert response.headers["WWW-Authenticate"] == "Bearer"
        assert repeated == []


def test_auth_key_created_after_a_miss_works_once_the_miss_is_forgotten(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, auth_negative_cache_s=0)
    with _client(settings, "203.0.113.12") as client:
        key = new_key(database_url)
        assert client.get("/jobs", headers=auth(key + "x")).status_code == 401
        assert client.get("/jobs", headers=auth(key)).status_code == 200
