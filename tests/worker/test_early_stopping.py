"""A sweep child stopped early by ASHA as the training process runs it (issue 20): it ends
`stopped` after the rung, its epochs and weights kept and the decision in its results."""

from __future__ import annotations

import io
import uuid

import torch

from core.settings import Settings
from core.store import jobs, keys
from core.store.db import session_scope
from core.store.sweeps import NewChild, create_sweep
from core.store.tables import JobStatus
from testkit.builders import SPEC, claim, job_row
from testkit.builders import train_in_process as train

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
    assert decision["validation_error"] == round(100 * (1 - records[0].validation_accuracy), 4)
    assert weights is not None
    state = torch.load(io.BytesIO(weights), weights_only=True)
    assert "fc.weight" in state
