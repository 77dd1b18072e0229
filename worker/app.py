"""The worker's Celery app: `celery -A worker.app worker --pool=solo --concurrency=1 -Q training`.

One job at a time per worker process, one worker per GPU (pinned with CUDA_VISIBLE_DEVICES).
"""

from __future__ import annotations

from celery import Celery

from core.broker import celery_config
from core.settings import get_settings

app = Celery("worker", include=["worker.tasks", "worker.signals"])
app.conf.update(
    celery_config(get_settings()),
    # The message is acknowledged when the job ends, so a worker lost mid-job leaves it with the
    # broker; the claim in the database makes the redelivery harmless.
    task_acks_late=True,
    # A worker busy for hours must not hold messages that an idle worker could start.
    worker_prefetch_multiplier=1,
    worker_concurrency=1,
    # The job's own deadline (JOB_TIMEOUT_S) is enforced by the training process.
    task_time_limit=None,
    task_soft_time_limit=None,
)
