"""Hand a job id to the broker, then record that a message carries it (the outbox's mark)."""

from __future__ import annotations

import logging
import uuid

from core.broker import TRAIN_QUEUE, TRAIN_TASK
from core.settings import Settings, get_settings
from core.store.jobs import mark_enqueued
from worker.app import app
from worker.db import store_call

log = logging.getLogger(__name__)


def send(job_id: uuid.UUID, *, settings: Settings | None = None) -> None:
    """Send the job's id to the training queue and mark it enqueued.

    Sending before marking means a crash in between leaves the job in the outbox, to be sent
    again: a second message is harmless (the claim drops it), a missing one is not.
    """
    settings = settings or get_settings()
    app.send_task(TRAIN_TASK, args=[str(job_id)], queue=TRAIN_QUEUE)
    store_call(
        settings,
        lambda session: mark_enqueued(session=session, job_id=job_id),
        what=f"mark job {job_id} enqueued",
    )
    log.info("job %s sent to queue %s", job_id, TRAIN_QUEUE)
