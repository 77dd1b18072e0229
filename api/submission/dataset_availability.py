"""Refuse a data set that no training worker has and none may download (issue 18), before the
job is queued, rather than failing it with `dataset_missing` after its wait.

The workers report what their DATA_DIR holds (worker/data_report.py); while none has reported
recently, nothing is refused (the job waits for a worker, as before).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.errors import FieldError, invalid
from core.architecture import DATASET_CLASSES
from core.store.worker_data import DataReport, data_report


def check_workers_have(
    *, session: Session, spec: dict[str, Any], report: DataReport | None = None
) -> None:
    """`report`: the workers' report when the caller has read it already (a sweep reads it once
    for all its children)."""
    dataset = spec["dataset"]
    if dataset not in DATASET_CLASSES:
        return  # an uploaded data set: the store serves it to every worker (issue 19)
    if report is None:
        report = data_report(session=session)
    if report.serves(dataset):
        return
    have = ", ".join(sorted(report.datasets)) or "no data set"
    raise invalid(
        [
            FieldError.body(
                "dataset",
                f"no worker has {dataset} and none may download it (the {report.workers} "
                f"worker(s) have {have}); the operator must put it in the workers' DATA_DIR "
                "or set DOWNLOAD_DATASETS=true",
            )
        ]
    )
