"""The worker's Celery app, started as core.messaging.broker's CELERY_WORKER_ARGS
(`celery -A worker.app worker --pool=threads -Q training`) for training, and
WEBHOOK_WORKER_ARGS (`-Q webhooks`) for webhook deliveries, each its own worker
(docker-compose.yml's `worker` and `webhooks`).

One training worker per GPU (pinned with CUDA_VISIBLE_DEVICES), running JOBS_PER_GPU jobs at
once, each in its own training process (`worker.training_process`, default one).
"""

from __future__ import annotations

from celery import Celery

from core.messaging.broker import celery_config
from core.settings import get_settings

settings = get_settings()
app = Celery("worker", include=["worker.tasks", "worker.signals", "worker.dataset_task"])
app.conf.update(
    celery_config(settings),
    # The message is acknowledged when the job ends, so a worker lost mid-job leaves it with the
    # broker; the claim in the database makes the redelivery harmless.
    task_acks_late=True,
    # A worker busy for hours must not hold messages that an idle worker could start.
    worker_prefetch_multiplier=1,
    # A pool thread per job slot; webhook deliveries take a slot for a moment.
    worker_concurrency=settings.jobs_per_gpu,
    # The job's own deadline (JOB_TIMEOUT_S) is enforced by the training process.
    task_time_limit=None,
    task_soft_time_limit=None,
)
