"""The `datasets` queue's one task: thin glue from a broker message to
`worker.dataset_processing.process_dataset` (issue 19)."""

from __future__ import annotations

import uuid

from core.messaging.dataset_queue import PROCESS_TASK
from core.settings import get_settings
from worker.app import app
from worker.dataset_processing import process_dataset as process


@app.task(name=PROCESS_TASK)
def process_dataset(dataset_id: str) -> None:
    """Check and convert an upload; the database records the outcome. A worker lost midway
    leaves the message unacknowledged (acks_late), so another worker processes it again."""
    process(uuid.UUID(dataset_id), get_settings())
