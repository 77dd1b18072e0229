"""`crs sweep retry` against the real API and worker: a cancelled sweep's points run again and
train to the end (issue 20)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.client.conftest import JOB, Service, crs

pytestmark = pytest.mark.slow


def _children(service: Service, sweep_id: str) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {service.key}"}
    answer = httpx.get(f"{service.url}/sweeps/{sweep_id}", headers=headers, timeout=30)
    children: list[dict[str, object]] = answer.json()["children"]
    return children


def _wait_ended(service: Service, sweep_id: str, timeout: float = 240) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        children = _children(service, sweep_id)
        if all(c["status"] in ("succeeded", "failed", "cancelled") for c in children):
            return children
        if time.monotonic() > deadline:
            raise AssertionError(f"{children}\n{service.processes.diagnose()}")
        time.sleep(0.2)


def test_crs_sweep_retry_runs_the_cancelled_points_again(service: Service) -> None:
    headers = {"Authorization": f"Bearer {service.key}"}
    body = {"base": {**JOB, "epochs": 1}, "seeds": 2}
    sweep = httpx.post(f"{service.url}/sweeps", json=body, headers=headers, timeout=30).json()
    cancel = httpx.post(f"{service.url}/sweeps/{sweep['id']}/cancel", headers=headers, timeout=30)
    assert cancel.status_code == 200, cancel.text
    ended = _wait_ended(service, sweep["id"])
    cancelled = [c["id"] for c in ended if c["status"] == "cancelled"]
    assert cancelled  # at least the child still queued when the cancel came

    done = crs("--url", service.url, "--key", service.key, "sweep", "retry", sweep["id"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"sweep {sweep['id']}: {len(cancelled)} points retried; now ")
    retried = done.stdout.split()[-len(cancelled) :]
    children = _wait_ended(service, sweep["id"])
    assert [c["status"] for c in children] == ["succeeded", "succeeded"]
    assert {c["id"] for c in children} >= set(retried)

    again = crs("--url", service.url, "--key", service.key, "sweep", "retry", sweep["id"])
    assert again.returncode == 0 and "nothing to retry (2 succeeded)" in again.stdout
    missing = crs("--url", service.url, "--key", service.key, "sweep", "retry", cancelled[0])
    assert missing.returncode == 2 and missing.stderr.startswith("crs: error:")
