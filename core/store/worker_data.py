"""What the training workers have in their DATA_DIR (issue 18): each worker reports at start-up
and every few minutes; the API refuses a data set that no live worker has and none may download.

A report older than REPORT_FRESH_S is a worker gone; with no fresh report at all (no worker has
started yet, or every one is away) nothing is refused: the job waits in the queue as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import WorkerData
from core.store.types import utcnow

REPORT_EVERY_S = 60.0
REPORT_FRESH_S = 5 * REPORT_EVERY_S  # a few missed reports before a worker counts as gone


@dataclass(frozen=True)
class DataReport:
    workers: int  # with a fresh report
    datasets: frozenset[str]  # that some such worker has
    may_download: bool  # whether some such worker may download a missing data set
    train_images: dict[str, int]  # by data set: the most any such worker holds

    @property
    def known(self) -> bool:
        return self.workers > 0

    def serves(self, dataset: str) -> bool:
        """Whether some worker can train on the data set (True while none has reported)."""
        return not self.known or self.may_download or dataset in self.datasets


def report_data(
    *,
    session: Session,
    worker: str,
    datasets: list[str],
    may_download: bool,
    train_images: dict[str, int] | None = None,
) -> None:
    """Record (replace) the worker's report; the caller commits."""
    row = session.get(WorkerData, worker)
    if row is None:
        row = WorkerData(worker=worker)
        session.add(row)
    row.datasets = sorted(datasets)
    row.may_download = may_download
    row.train_images = dict(train_images or {})
    row.reported_at = utcnow()


def forget_worker(*, session: Session, worker: str) -> None:
    """Drop the worker's report (it is shutting down); the caller commits."""
    row = session.get(WorkerData, worker)
    if row is not None:
        session.delete(row)


def data_report(*, session: Session, fresh_s: float = REPORT_FRESH_S) -> DataReport:
    """What the workers with a fresh report have, together."""
    since = utcnow() - timedelta(seconds=fresh_s)
    rows = session.scalars(select(WorkerData).where(WorkerData.reported_at >= since)).all()
    images: dict[str, int] = {}
    for row in rows:
        for name, count in (row.train_images or {}).items():
            images[name] = max(images.get(name, 0), int(count))
    return DataReport(
        workers=len(rows),
        datasets=frozenset(name for row in rows for name in row.datasets),
        may_download=any(row.may_download for row in rows),
        train_images=images,
    )
