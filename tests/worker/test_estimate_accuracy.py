"""Issue 11's check of the pre-flight estimate on this machine: after one measured run of
ResNet-20 (recorded by the worker's own code), the estimated epoch time of ResNet-32 and
ResNet-56 is within 30 % of what they then take. Errors are printed for docs/BENCHMARKS.md."""

from __future__ import annotations

import statistics
import uuid
from pathlib import Path

import pytest

from core.estimate import estimate_times
from core.settings import Settings
from core.store import jobs
from core.store.artifacts import throughput_measurements
from core.store.db import session_scope
from core.store.migrate import upgrade
from core.store.tables import JobStatus
from testkit.builders import claim, make_settings, new_job
from testkit.builders import train_in_process as train
from testkit.cifar_files import write_cifar10

TRAIN_PER_CLASS = 40  # 400 training images
TEST_PER_CLASS = 10  # 100 test images
EPOCHS = 6  # the first is a warm-up; the median of the others resists bursts of load


def _measured_epoch_seconds(settings: Settings, job_id: uuid.UUID) -> float:
    with session_scope(settings.database_url) as session:
        records = jobs.epoch_metrics(session=session, job_id=job_id)
    return statistics.median(r.seconds for r in records[1:])


def _run(settings: Settings, depth: int) -> uuid.UUID:
    job_id = new_job(settings.database_url, depth=depth, epochs=EPOCHS, batch_size=128)
    held = claim(settings.database_url, job_id)
    assert train(job_id, held.lease_id, settings) == JobStatus.succeeded
    return job_id


@pytest.mark.slow
@pytest.mark.timeout(1800)  # three trainings on a shared CPU
# Measured, not asserted in every run: on this 2-core machine the epoch times of tiny generated
# sets vary with the machine's load more than the estimate's own error (docs/BENCHMARKS.md).
# Run it with `pytest -m estimate_accuracy`.
@pytest.mark.estimate_accuracy
def test_estimate_from_resnet20_predicts_resnet32_and_56(tmp_path: Path) -> None:
    write_cifar10(tmp_path, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    settings = make_settings(url, tmp_path)
    _run(settings, 20)
    with session_scope(url) as session:
        measured = throughput_measurements(session=session)
    assert [(r.architecture, r.depth) for r in measured] == [("resnet", 20)]
    errors = {}
    for depth in (32, 56):
        spec = {
            "architecture": "resnet",
            "depth": depth,
            "dataset": "cifar10",
            "shortcut": "A",
            "batch_size": 128,
            "epochs": 1,
        }
        (answer,) = estimate_times(
            spec, measured, train_images=10 * TRAIN_PER_CLASS, test_images=10 * TEST_PER_CLASS
        )
        actual = _measured_epoch_seconds(settings, _run(settings, depth))
        errors[depth] = answer["seconds_per_epoch"] / actual - 1
        print(
            f"ResNet-{depth}: estimated {answer['seconds_per_epoch']:.2f} s/epoch, "
            f"measured {actual:.2f} s/epoch, error {errors[depth]:+.1%} ({answer['device']})"
        )
    assert all(abs(error) < 0.30 for error in errors.values()), errors
