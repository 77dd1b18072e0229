"""GET /jobs/{id} of a queued job: its place in the queue and an expected start (issue 11)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.estimate import Measurement, estimate_times
from core.store.artifacts import record_throughput
from core.store.db import session_scope
from tests.api.conftest import Api, record_epochs, start_job


def test_queued_job_without_running_jobs_has_a_place_but_no_start(api: Api) -> None:
    first, second = api.new_job(), api.new_job()
    assert api.get(f"/jobs/{first}").json()["queue"]["position"] == 1
    place = api.get(f"/jobs/{second}").json()["queue"]
    assert (place["position"], place["jobs_ahead"], place["running"]) == (2, 1, 0)
    assert place["expected_start"] is None
    assert "no worker is running" in place["method"]


def test_queued_job_expected_start_follows_the_running_job_and_those_ahead(api: Api) -> None:
    running = api.new_job(epochs=5)
    claim = start_job(api.database_url, running)
    record_epochs(api.database_url, claim, 2)  # 2.0 s an epoch: 3 epochs = 6 s left
    ahead = api.new_job(epochs=3)
    mine = api.new_job()
    with session_scope(api.database_url) as session:
        record_throughput(
            session=session,
            device="cpu",
            architecture="resnet",
            depth=20,
            batch_size=128,
            precision="fp32",
            images_per_second=1000.0,
            epochs=2,
        )
    before = datetime.now(timezone.utc)
    place = api.get(f"/jobs/{mine}").json()["queue"]
    assert (place["position"], place["jobs_ahead"], place["running"]) == (2, 1, 1)
    spec = api.get(f"/jobs/{ahead}").json()["spec"]
    measured = [Measurement("cpu", "resnet", 20, 128, "fp32", 1000.0)]
    (estimate,) = estimate_times(spec, measured)
    expected = 6.0 + estimate["seconds"]
    start = datetime.fromisoformat(place["expected_start"])
    assert (start - before).total_seconds() == pytest.approx(expected, abs=5.0)
    assert "busy worker" in place["method"]
    assert api.get(f"/jobs/{running}").json()["queue"] is None


def test_expected_start_unknown_without_throughput(api: Api) -> None:
    running = api.new_job(epochs=5)
    start_job(api.database_url, running)  # no epoch yet, and nothing measured
    mine = api.new_job()
    place = api.get(f"/jobs/{mine}").json()["queue"]
    assert place["expected_start"] is None
    assert "no time estimate" in place["method"]
