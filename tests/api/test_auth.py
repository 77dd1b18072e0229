"""Bearer keys: 401 without a valid one; the keys CLI creates, lists and revokes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from api import auth as auth_module
from api.auth import KEY_CACHE_TTL_S, KeyCache
from core.settings import Settings
from core.store.db import session_scope
from core.store.tables import ApiKey
from core.store.types import utcnow
from tests.api.conftest import Api, auth, client_for, make_settings, new_key

ROOT = Path(__file__).resolve().parents[2]


def _keys_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "ops.keys", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _expire_key_cache(api: Api) -> None:
    keys: KeyCache = api.client.app.state.services.keys  # type: ignore[attr-defined]
    keys._owners.clear()


def test_auth_missing_or_wrong_key_is_401(api: Api) -> None:
    job_id = api.new_job()
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": api.key},  # no scheme
        auth(api.key + "x"),
        auth("crs_" + "A" * 43),
        auth("x" * 10_000),
    ):
        for method, path in (("GET", "/jobs"), ("GET", f"/jobs/{job_id}"), ("POST", "/jobs")):
            response = api.client.request(method, path, headers=headers)
            assert response.status_code == 401, (headers, path)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["error"]["code"] == "unauthorized"
    assert api.get(f"/jobs/{job_id}").status_code == 200


def test_auth_keys_cli_creates_lists_and_revokes(api: Api) -> None:
    created = _keys_cli(api.database_url, "create", "carol")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    carol = Api(api.client, api.database_url, key)
    assert carol.get("/jobs").status_code == 200
    job_id = carol.new_job()
    assert api.get(f"/jobs/{job_id}").status_code == 404  # alice cannot see carol's job

    listed = _keys_cli(api.database_url, "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if "carol" in row)
    assert key not in listed.stdout  # only the prefix is shown
    key_id = line.split()[0]

    revoked = _keys_cli(api.database_url, "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    # This app looked the key up a moment ago: it may honour it for KEY_CACHE_TTL_S more.
    _expire_key_cache(api)
    assert carol.get("/jobs").status_code == 401
    assert api.get("/jobs").status_code == 200  # other keys are untouched
    again = _keys_cli(api.database_url, "revoke", key_id)
    assert again.returncode != 0 and "no active key" in again.stderr


def test_auth_keys_cli_on_unmigrated_database_says_how_to_migrate(tmp_path: Path) -> None:
    result = _keys_cli(f"sqlite:///{tmp_path / 'empty.db'}", "create", "dave")
    assert result.returncode != 0
    assert "python -m core.store.migrate" in result.stderr


def test_auth_two_keys_of_one_owner_see_the_same_jobs(database_url: str, tmp_path: Path) -> None:
    with client_for(make_settings(database_url, tmp_path)) as client:
        first = Api(client, database_url, new_key(database_url, "erin"))
        second = Api(client, database_url, new_key(database_url, "erin"))
        job_id = first.new_job()
        assert second.get(f"/jobs/{job_id}").status_code == 200


def test_auth_revoked_key_is_refused_once_the_cache_entry_expires(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.get("/jobs").status_code == 200  # cached from now on
    with session_scope(api.database_url) as session:
        session.execute(update(ApiKey).values(revoked_at=utcnow()))
    assert api.get("/jobs").status_code == 200  # within KEY_CACHE_TTL_S: still the cached owner
    now = auth_module.time.monotonic()
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: now + KEY_CACHE_TTL_S + 1)
    assert api.get("/jobs").status_code == 401
    # A freshly started API process refuses it at once.
    with client_for(settings) as client:
        assert Api(client, api.database_url, api.key).get("/jobs").status_code == 401
