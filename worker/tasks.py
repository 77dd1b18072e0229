"""The one task: thin glue from a broker message to `worker.supervisor.run`."""

from __future__ import annotations

from celery import Task

from core.broker import TRAIN_TASK
from worker import supervisor
from worker.app import app

STORE_RETRY_S = 30  # seconds before a message is tried again while the database is down


@app.task(name=TRAIN_TASK, bind=True, max_retries=None)
def train_job(self: Task, job_id: str) -> None:
    """Claim the job and train it in a child process; the database records the outcome."""
    try:
        supervisor.run(job_id, hostname=self.request.hostname or "worker")
    except supervisor.StoreUnavailable as error:
        # The job could not be claimed; acknowledging the message without a retry would leave
        # the job queued with a message marked as sent that no longer exists.
        raise self.retry(exc=error, countdown=STORE_RETRY_S) from error
