"""An uploaded data set's events (issue 19): its status and processing progress on the owner's
event stream (GET /events/stream), stored in the events table like a job's, in the transaction
of the change each reports, and published after the commit by the process's commit listeners
(`core.store.events.add_commit_listener`), so a reader with a Last-Event-ID misses none.

One type, `dataset`, whose data is the data set's state after the change: `status`
(processing, ready, failed), `progress` (0 to 1), the `name`; for `ready` what processing found,
for `failed` the `error` with `where` (the archive member or field at fault) and `message`.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.store.dataset_tables import Dataset, DatasetStatus
from core.store.event_tables import Event
from core.store.events import announce
from core.store.types import utcnow
from core.vocabulary import EventType

# A progress event each time processing passes another tenth: at most ten per data set, however
# long its conversion (the progress figure itself is written at most once a second).
PROGRESS_STEP = 0.1


def dataset_event_data(dataset: Dataset) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": dataset.status,
        "progress": round(dataset.progress, 3),
        "name": dataset.name,
    }
    if dataset.status == DatasetStatus.ready.value:
        data.update(
            fingerprint=dataset.fingerprint,
            format=dataset.format,
            train_images=dataset.train_images,
            test_images=dataset.test_images,
            classes=len(dataset.class_names or []),
        )
    elif dataset.status == DatasetStatus.failed.value:
        data["error"] = {"where": dataset.error_where, "message": dataset.error}
    return data


def record_dataset_event(*, session: Session, dataset: Dataset) -> Event:
    """A `dataset` event of the data set's current state, in the session's transaction (the
    caller commits), after the change it reports has been flushed or set on `dataset`."""
    prev_id = session.scalar(select(func.max(Event.id)).where(Event.dataset_id == dataset.id))
    row = Event(
        job_id=None,
        dataset_id=dataset.id,
        owner_id=dataset.owner_id,
        type=EventType.dataset.value,
        data=dataset_event_data(dataset),
        prev_id=prev_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    announce(session, [row])
    return row


def record_progress(*, session: Session, dataset_id: uuid.UUID, progress: float) -> None:
    """The processing's progress (0 to 1) of a data set still processing; a `dataset` event
    when it passes another PROGRESS_STEP. Commits."""
    progress = min(max(progress, 0.0), 1.0)
    before = session.scalar(
        select(Dataset.progress)
        .where(Dataset.id == dataset_id, Dataset.status == DatasetStatus.processing.value)
        .with_for_update()
    )
    if before is None:  # gone, or processed by another delivery meanwhile
        session.rollback()
        return
    session.execute(update(Dataset).where(Dataset.id == dataset_id).values(progress=progress))
    if _step(progress) > _step(before):
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        session.refresh(dataset)
        record_dataset_event(session=session, dataset=dataset)
    session.commit()


def _step(progress: float) -> int:
    return math.floor(progress / PROGRESS_STEP + 1e-9)
