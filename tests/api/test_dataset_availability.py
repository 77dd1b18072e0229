"""A data set that no training worker has and none may download is refused at submission with
a 422 naming `dataset` (issue 18), from the workers' reports (core.store.worker_data)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.store.db import session_scope
from core.store.tables import WorkerData
from core.store.types import utcnow
from core.store.worker_data import REPORT_FRESH_S, report_data
from tests.api.conftest import Api, broker_messages

CIFAR100 = {"architecture": "resnet", "depth": 20, "epochs": 1, "dataset": "cifar100"}


def _report(api: Api, worker: str, datasets: list[str], may_download: bool) -> None:
    with session_scope(api.database_url) as session:
        report_data(session=session, worker=worker, datasets=datasets, may_download=may_download)


def _names_dataset(answer: object) -> None:
    assert answer.status_code == 422, answer.text  # type: ignore[attr-defined]
    fields = answer.json()["error"]["fields"]  # type: ignore[attr-defined]
    assert [f["field"] for f in fields] == ["dataset"]
    assert "no worker has cifar100" in fields[0]["reason"]
    assert "DOWNLOAD_DATASETS" in fields[0]["reason"]


@pytest.mark.parametrize("path", ["/jobs", "/jobs/estimate"])
def test_dataset_no_worker_has_is_refused_naming_dataset(
    api: Api, tmp_path: Path, path: str
) -> None:
    _report(api, "a@host1", ["cifar10"], may_download=False)
    _report(api, "b@host2", [], may_download=False)
    _names_dataset(api.post(path, json=CIFAR100))
    assert broker_messages(tmp_path) == []
    # The data set some worker has is accepted.
    assert api.post(path, json={**CIFAR100, "dataset": "cifar10"}).status_code in (200, 201)


def test_sweep_with_a_missing_dataset_is_refused_naming_the_child(api: Api) -> None:
    _report(api, "a@host1", ["cifar10"], may_download=False)
    answer = api.post("/sweeps", json={"base": CIFAR100, "grid": {"depth": [20, 32]}})
    assert answer.status_code == 422, answer.text
    reasons = [f["reason"] for f in answer.json()["error"]["fields"]]
    assert any("no worker has cifar100" in r for r in reasons)
    assert api.get("/jobs").json()["jobs"] == []


def test_dataset_is_accepted_when_a_worker_has_it_or_may_download(api: Api) -> None:
    _report(api, "a@host1", ["cifar10"], may_download=False)
    _report(api, "b@host2", ["cifar100"], may_download=False)
    assert api.post("/jobs", json=CIFAR100).status_code == 201
    with session_scope(api.database_url) as session:
        session.query(WorkerData).delete()
    _report(api, "c@host3", [], may_download=True)
    assert api.post("/jobs", json=CIFAR100).status_code == 201


def test_nothing_is_refused_before_any_worker_reports_or_when_reports_are_stale(
    api: Api,
) -> None:
    assert api.post("/jobs", json=CIFAR100).status_code == 201
    _report(api, "gone@host", ["cifar10"], may_download=False)
    with session_scope(api.database_url) as session:
        row = session.get(WorkerData, "gone@host")
        assert row is not None
        row.reported_at = utcnow() - timedelta(seconds=REPORT_FRESH_S + 60)
    assert api.post("/jobs", json=CIFAR100).status_code == 201
