"""The database that bench/dashboard_draw.py draws, filled through the job store's own functions
as a worker fills it: one ResNet-110 job of 500 epochs, 12 jobs of 164 epochs (plain and ResNet
of several depths, two seeds of some) and 1,000 more queued jobs for the list."""

from __future__ import annotations

import math
import uuid
from typing import Any

from api.schemas.request import JobRequest
from core.store import jobs, keys, lifecycle
from core.store.db import session_scope
from core.store.migrate import upgrade


def curve(epoch: int, epochs: int, depth: int, plain: bool) -> dict[str, float]:
    """A plausible CIFAR-10 run: error falls, and drops where the learning rate does."""
    rate = 0.1 if epoch <= epochs // 2 else 0.01 if epoch <= 3 * epochs // 4 else 0.001
    base = 0.06 + (0.02 * depth / 56 if plain else -0.01 * math.log(depth / 20 + 1))
    train_error = base * (1 + 8 * math.exp(-epoch / 15)) * (0.35 if rate < 0.1 else 1.0)
    test_error = train_error + 0.02 + 0.01 * math.sin(epoch)
    return {
        "epoch": epoch,
        "train_loss": 2.3 * train_error + 0.01,
        "train_accuracy": max(0.0, 1 - train_error),
        "test_loss": 2.3 * test_error + 0.05,
        "test_accuracy": max(0.0, 1 - test_error),
        "learning_rate": rate,
        "seconds": 30.0,
        "images_per_second": 1700.0,
    }


def trained_job(url: str, owner_id: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
    spec = JobRequest.model_validate(fields).resolve()
    with session_scope(url) as session:
        job, _ = jobs.create_job(session=session, owner_id=owner_id, spec=spec, max_queued=10**6)
        job_id = job.id
    with session_scope(url) as session:
        claim = lifecycle.claim_job(
            session=session, job_id=job_id, worker="bench", max_running_per_owner=10**6
        )
    assert isinstance(claim, lifecycle.Claim), claim
    epochs = spec["epochs"]
    plain = spec["architecture"] == "plain"
    with session_scope(url) as session:
        for epoch in range(1, epochs + 1):
            lifecycle.save_progress(
                session=session,
                job_id=job_id,
                lease_id=claim.lease_id,
                checkpoint=b"-",
                epoch=epoch,
                batch=0,
                run_seconds=30.0 * epoch,
                metrics=curve(epoch, epochs, spec["depth"], plain),
            )
        last = curve(epochs, epochs, spec["depth"], plain)
        confusion = [[90 if i == j else 1 for j in range(10)] for i in range(10)]
        lifecycle.finish_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            weights=b"weights",
            sha256="0" * 64,
            run_seconds=30.0 * epochs,
            final_test_accuracy=last["test_accuracy"],
            final_test_loss=last["test_loss"],
            best_test_accuracy=last["test_accuracy"],
            best_epoch=epochs,
            results={"per_class_accuracy": [0.9] * 10, "confusion_matrix": confusion},
        )
    return job_id


def fill(url: str) -> tuple[str, uuid.UUID, list[uuid.UUID]]:
    upgrade(url)
    with session_scope(url) as session:
        owner, key = keys.create_key(session=session, owner_name="bench")
        owner_id = owner.owner_id
    long_job = trained_job(url, owner_id, {"architecture": "resnet", "depth": 110, "epochs": 500})
    compared = [
        trained_job(url, owner_id, {"architecture": arch, "depth": depth, "epochs": 164, "seed": s})
        for arch, depths in (("plain", (20, 32, 44, 56)), ("resnet", (20, 32, 44, 56, 110)))
        for depth in depths
        for s in range(2 if depth in (20, 56) else 1)
    ][:12]
    spec = JobRequest.model_validate({"architecture": "resnet", "depth": 20, "epochs": 1}).resolve()
    with session_scope(url) as session:
        for _ in range(1000):
            jobs.create_job(session=session, owner_id=owner_id, spec=spec, max_queued=10**6)
    return key, long_job, compared
