"""A sweep child stopped early by ASHA as the training process runs it (issue 20): it ends
`stopped` after the rung, its epochs and weights kept and the decision in its results."""

from __future__ import annotations

import hashlib
import io
import uuid

import numpy as np
import torch

from core.settings import Settings
from core.store import jobs, keys
from core.store.db import session_scope
from core.store.sweeps import NewChild, create_sweep
from core.store.tables import JobStatus
from testkit.builders import SPEC, claim, job_row
from testkit.builders import train_in_process as train
from tests.api.conftest import auth, client_for, new_key

EARLY = {"rule": "asha", "grace_epochs": 1, "reduction_factor": 2}


def _sweep(database_url: str, learning_rates: list[float], epochs: int) -> list[uuid.UUID]:
    with session_scope(database_url) as session:
        owner = keys.get_or_create_owner(session=session, name="alice")
        session.commit()
        children = [
            NewChild(
                point={"learning_rate": lr},
                spec={**SPEC, "epochs": epochs, "learning_rate": lr, "validation_images": 100},
            )
            for lr in learning_rates
        ]
        request = {"grid": {"learning_rate": learning_rates}, "early_stopping": EARLY}
        _, ids, _ = create_sweep(
            session=session,
            owner_id=owner.id,
            children=children,
            request=request,
            varying=["learning_rate"],
            max_queued=1000,
        )
    return ids


def test_asha_stops_the_worse_child_at_the_first_rung_with_its_weights(settings: Settings) -> None:
    good, bad = _sweep(settings.database_url, [0.1, 1e-5], epochs=3)
    assert train(good, claim(settings.database_url, good).lease_id, settings) == (
        JobStatus.succeeded
    )  # the first to reach each rung goes on
    assert train(bad, claim(settings.database_url, bad).lease_id, settings) == JobStatus.stopped

    stopped = job_row(settings.database_url, bad)
    assert (stopped.status, stopped.epochs_done) == (JobStatus.stopped, 1)
    assert stopped.results is not None
    decision = stopped.results["early_stopping"]
    assert (decision["rule"], decision["epoch"], decision["rung"]) == ("asha", 1, 0)
    with session_scope(settings.database_url) as session:
        records = jobs.epoch_metrics(session=session, job_id=bad)
        good_first = jobs.epoch_metrics(session=session, job_id=good)[0]
        weights = jobs.load_weights(session=session, job_id=bad)
    assert [r.epoch for r in records] == [1]
    assert records[0].validation_accuracy is not None
    assert good_first.validation_accuracy is not None
    assert records[0].validation_accuracy < good_first.validation_accuracy
    assert decision["validation_error"] == round(1 - records[0].validation_accuracy, 6)
    assert weights is not None
    state = torch.load(io.BytesIO(weights), weights_only=True)
    assert "fc.weight" in state


def test_stopped_child_serves_its_weights_report_and_predictions(settings: Settings) -> None:
    """A child stopped by the rule keeps its epochs and weights: every download answers as for
    a succeeded job, and its report says why it stopped."""
    good, bad = _sweep(settings.database_url, [0.1, 1e-5], epochs=3)
    train(good, claim(settings.database_url, good).lease_id, settings)
    assert train(bad, claim(settings.database_url, bad).lease_id, settings) == JobStatus.stopped
    key = new_key(settings.database_url, "alice")
    with client_for(settings) as client:
        client.headers.update(auth(key))
        for format_ in ("pt", "safetensors", "onnx"):
            response = client.get(f"/jobs/{bad}/weights", params={"format": format_})
            assert response.status_code == 200, (format_, response.text)
            sha256 = hashlib.sha256(response.content).hexdigest()
            assert response.headers["ETag"] == f'"{sha256}"', format_
            again = client.get(
                f"/jobs/{bad}/weights",
                params={"format": format_},
                headers={"If-None-Match": response.headers["ETag"]},
            )
            assert again.status_code == 304, format_
        with session_scope(settings.database_url) as session:
            stored = jobs.weights_info(session=session, job_id=bad)
        assert stored is not None
        assert client.get(f"/jobs/{bad}/weights").headers["ETag"] == f'"{stored[1]}"'

        report = client.get(f"/jobs/{bad}/report")
        assert report.status_code == 200, report.text
        why = report.json()["early_stopping"]
        assert (why["rule"], why["epoch"], why["rung"]) == ("asha", 1, 0)
        assert why["reason"].startswith("ASHA: validation error")
        assert client.get(f"/jobs/{good}/report").json()["early_stopping"] is None

        image = np.zeros((1, 32, 32, 3), dtype=np.uint8).tolist()
        predicted = client.post(f"/jobs/{bad}/predict", json={"images": image})
        assert predicted.status_code == 200, predicted.text
