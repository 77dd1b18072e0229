"""The worker's two tasks, thin glue from a broker message to a plain function: a job to
`worker.supervisor.run`, a webhook delivery to `worker.webhook_delivery.deliver`."""

from __future__ import annotations

from celery import Task

from core.messaging.broker import TRAIN_TASK, WEBHOOK_TASK
from core.settings import get_settings
from worker import supervisor, webhook_delivery
from worker.after_commit import webhook_sender
from worker.app import app


@app.task(name=TRAIN_TASK, bind=True)
def train_job(self: Task, job_id: str) -> None:
    """Claim the job and train it in a child process; the database records the outcome.

    An error here (the database unreachable past the retries) is logged by Celery and the
    message acknowledged: the job stays queued, and an idle worker's reaper sends it again.
    """
    supervisor.run(job_id, hostname=self.request.hostname or "worker")


@app.task(name=WEBHOOK_TASK)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt of a webhook delivery; a retry is a new message with a countdown."""
    settings = get_settings()
    webhook_delivery.deliver(delivery_id, settings, webhook_sender(settings))
