"""Builders shared by the worker and end-to-end tests: settings, jobs, claims, a sender."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.settings import Settings
from core.store import jobs, keys, lifecycle
from core.store.db import session_scope
from core.store.tables import Job, JobStatus

# ResNet-8 on the generated CIFAR-10 files: about a second an epoch on one CPU core.
SPEC: dict[str, Any] = {
    "architecture": "resnet",
    "depth": 8,
    "epochs": 2,
    "dataset": "cifar10",
    "batch_size": 64,
    "learning_rate": 0.1,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "lr_schedule": "multistep",
    "augment": True,
    "seed": 0,
    "train_mode": "end_to_end",
    "shortcut": "A",
    "init_from": None,
}
TRAIN_PER_CLASS = 50  # 500 training images
TEST_PER_CLASS = 20  # 200 test images

# Short enough that a lost worker is noticed within seconds in a test.
FAST_WORKER = {
    "heartbeat_interval_s": 0.5,
    "lease_timeout_s": 8.0,
    "reaper_interval_s": 1.0,
    "shutdown_grace_s": 20.0,
    # Progress 0.1 s after an epoch's first batch: the tests' epochs last about half a second
    # on a fast CPU, shorter than the default interval.
    "progress_interval_s": 0.1,
}


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """A worker's settings for one test: its database, the generated data, the CPU."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "broker_url": "memory://",
        "data_dir": data_dir,
        "download_datasets": False,
        "device": "cpu",
        **FAST_WORKER,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment with the settings spelled out, so a process reads the same."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[name.upper()] = _env_text(value)
    return env


def _env_text(value: Any) -> str:
    if value is None:
        return ""  # an optional setting left unset (Settings reads "" as None)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def worker_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for a worker process."""
    everything = settings_env(settings)
    return {name: everything[name] for name in (f.upper() for f in Settings.model_fields)}


def new_job(database_url: str, owner: str = "alice", **spec: Any) -> uuid.UUID:
    with session_scope(database_url) as session:
        owner_id = keys.get_or_create_owner(session=session, name=owner).id
        session.commit()
        job, _ = jobs.create_job(
            session=session, owner_id=owner_id, spec={**SPEC, **spec}, max_queued=1000
        )
        return job.id


def claim(database_url: str, job_id: uuid.UUID, worker: str = "test") -> lifecycle.Claim:
    with session_scope(database_url) as session:
        claimed = lifecycle.claim_job(
            session=session, job_id=job_id, worker=worker, max_running_per_owner=100
        )
    assert isinstance(claimed, lifecycle.Claim), claimed
    return claimed


def finish_placeholder(session: Session, held: lifecycle.Claim) -> None:
    """Succeed a claimed job with placeholder weights and figures, where a test needs only the
    status."""
    lifecycle.finish_job(
        session=session,
        job_id=held.job_id,
        lease_id=held.lease_id,
        weights=b"weights",
        sha256="0" * 64,
        run_seconds=1.0,
        final_test_accuracy=0.5,
        final_test_loss=1.0,
        best_test_accuracy=0.5,
        best_epoch=1,
        results={},
    )


def job_row(database_url: str, job_id: uuid.UUID) -> Job:
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


class Sent:
    """A `send` that records what would have gone to the broker."""

    def __init__(self, fail: bool = False) -> None:
        self.ids: list[uuid.UUID] = []
        self.fail = fail

    def __call__(self, job_id: uuid.UUID) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.ids.append(job_id)


def train_in_process(
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    settings: Settings,
    *,
    shutdown: threading.Event | None = None,
) -> JobStatus | None:
    """Train a claimed job in this process as `worker.training_process.train_child` does (the
    lease renewed first, a scratch folder removed after), so that tests share torch's start-up."""
    from worker.training_process.lease import Lease
    from worker.training_process.training import train

    lease = Lease(settings, job_id, lease_id)
    if not lease.begin():
        return None
    with tempfile.TemporaryDirectory(prefix="crs-test-job-") as scratch:
        return train(
            job_id,
            lease_id,
            settings,
            lease=lease,
            shutdown=shutdown or threading.Event(),
            scratch=Path(scratch),
        )
