"""The training worker reports the data sets in its DATA_DIR and whether it may download them
(issue 18); the API reads the reports together."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from core.store.db import session_scope
from core.store.worker_data import data_report
from testkit.builders import TRAIN_PER_CLASS
from worker.data_report import report_once


def test_report_names_the_datasets_found_and_the_download_setting(
    settings: Settings, tmp_path: Path
) -> None:
    report_once(settings.model_copy(update={"download_datasets": False}), "w1@here")
    empty = settings.model_copy(update={"data_dir": tmp_path, "download_datasets": False})
    report_once(empty, "w2@there")
    with session_scope(settings.database_url) as session:
        found = data_report(session=session)
    assert found.workers == 2
    assert "cifar10" in found.datasets and not found.may_download
    assert found.serves("cifar10") and not found.serves("cifar100")
    # The images it trains on, counted from the files (the tests' small CIFAR-10).
    assert found.train_images == {"cifar10": 10 * TRAIN_PER_CLASS}
    # A report replaces the worker's earlier one.
    report_once(empty.model_copy(update={"download_datasets": True}), "w2@there")
    with session_scope(settings.database_url) as session:
        found = data_report(session=session)
    assert found.workers == 2 and found.serves("cifar100")
