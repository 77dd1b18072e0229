"""What the API refuses or folds together: over quota (429), over the cost cap (422), a retried
submission (the same job, even under concurrency and at the quota)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from core.store.db import session_scope
from core.store.tables import Job
from tests.faults.conftest import SPEC, Service

pytestmark = pytest.mark.slow


def _count_jobs(service: Service) -> int:
    with session_scope(service.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_quota_cost_and_idempotency_at_submission(service: Service) -> None:
    # No worker: every accepted job stays queued and counts against the quota.
    service.api(MAX_QUEUED_PER_OWNER="2", MAX_COST="1e6")
    with service.client() as client:
        # ResNet-20 has 272,474 parameters: 10 epochs cost 2.7e6 > 1e6.
        costly = client.post("/jobs", json={**SPEC, "depth": 20, "epochs": 10})
        assert costly.status_code == 422, costly.text
        assert costly.json()["error"]["fields"][0]["field"] == "epochs"
        assert "max_cost" in costly.json()["error"]["message"]
        assert _count_jobs(service) == 0

        def submit_once(_: int) -> httpx.Response:
            return client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "retry-1"})

        # Six clients retrying one request at once: one job, created by exactly one of them.
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(submit_once, range(6)))
        assert sorted(a.status_code for a in answers) == [200] * 5 + [201], [
            a.text for a in answers
        ]
        [job_id] = {a.json()["id"] for a in answers}
        assert _count_jobs(service) == 1

        other_body = client.post(
            "/jobs", json={**SPEC, "epochs": 2}, headers={"Idempotency-Key": "retry-1"}
        )
        assert other_body.status_code == 422, other_body.text
        assert other_body.json()["error"]["fields"][0]["field"] == "Idempotency-Key"

        # One place left under the quota of 2, and six clients racing for it: one gets it.
        with ThreadPoolExecutor(max_workers=6) as pool:
            raced = list(pool.map(lambda _: client.post("/jobs", json=SPEC), range(6)))
        assert sorted(a.status_code for a in raced) == [201] + [429] * 5, [a.text for a in raced]
        over = next(a for a in raced if a.status_code == 429)
        assert over.json()["error"]["code"] == "quota_exceeded"
        assert int(over.headers["Retry-After"]) > 0
        assert _count_jobs(service) == 2

        # A retry of an accepted request is not a new job, so the full quota does not refuse it.
        again = submit_once(0)
        assert again.status_code == 200 and again.json()["id"] == job_id
        assert _count_jobs(service) == 2
