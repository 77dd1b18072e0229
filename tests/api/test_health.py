"""/healthz, and what every endpoint answers while the database or the broker is down."""

from __future__ import annotations

import time
from pathlib import Path

from tests.api.conftest import SPEC, auth, client_for, make_settings

CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1
CLOSED_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_both_reachable_is_200(database_url: str, tmp_path: Path) -> None:
    with client_for(make_settings(database_url, tmp_path)) as client:
        response = client.get("/healthz")  # no key needed
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_broker_down_is_503_naming_it(database_url: str, tmp_path: Path) -> None:
    with client_for(make_settings(database_url, tmp_path, broker_url=CLOSED_REDIS)) as client:
        started = time.monotonic()
        response = client.get("/healthz")
        assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}


def test_healthz_database_down_is_503_naming_it(tmp_path: Path) -> None:
    with client_for(make_settings(CLOSED_POSTGRES, tmp_path)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "broker": "ok"}


def test_database_down_is_503_on_every_endpoint(tmp_path: Path) -> None:
    job = "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b"
    with client_for(make_settings(CLOSED_POSTGRES, tmp_path)) as client:
        headers = auth("crs_some_key_that_cannot_be_checked")
        for method, path, body in (
            ("POST", "/jobs", SPEC),
            ("GET", "/jobs", None),
            ("GET", f"/jobs/{job}", None),
            ("GET", f"/jobs/{job}/metrics", None),
            ("GET", f"/jobs/{job}/weights", None),
            ("POST", f"/jobs/{job}/cancel", None),
        ):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 503, (path, response.text)
            error = response.json()["error"]
            assert error["code"] == "database_unavailable"
            assert error["message"] == "the database is unavailable; retry later"
            assert response.headers["Retry-After"]
