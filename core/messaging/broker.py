"""What the API (producer) and the workers (consumers) must agree on about the broker.

Plain values only: the API and the worker each build their own Celery app from these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.settings import Settings

TRAIN_TASK = "worker.train_job"  # sent by name, so the API never imports the worker
TRAIN_QUEUE = "training"
# Webhook deliveries (issue 8): a queue of their own, consumed by workers of their own, so a slow
# receiver never holds up training and a long training never holds up a delivery (a training
# worker's pool threads are all taken by its jobs).
WEBHOOK_TASK = "worker.deliver_webhook"
WEBHOOK_QUEUE = "webhooks"
WEBHOOK_THREADS = 8  # deliveries one webhook worker makes at once, each bounded by its timeout
# How every worker runs (`celery ...` or `python -m celery ...`). `make run`, the tests and the
# compose file (checked by tests/deploy) all use these.
_CELERY_WORKER = ("-A", "worker.app", "worker", "--pool=threads")
# One per GPU. Threads: each job runs in its own training process, the pool thread only waits
# for it; as many threads as JOBS_PER_GPU (`worker_concurrency`, set by worker.app).
CELERY_WORKER_ARGS = (*_CELERY_WORKER, "-Q", TRAIN_QUEUE)
# One or more per deployment, without torch: HTTP requests to the receivers.
WEBHOOK_WORKER_ARGS = (*_CELERY_WORKER, "-Q", WEBHOOK_QUEUE, f"--concurrency={WEBHOOK_THREADS}")


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings shared by producer and consumer."""
    options: dict[str, Any] = {}
    url = settings.broker_url
    if url.startswith("filesystem://"):
        # kombu's filesystem transport: a folder instead of a server (the embedded set-up).
        folder = Path(url.removeprefix("filesystem://") or "var/broker")
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),  # exchange tables; default is ./control
            "store_processed": False,
            "polling_interval": 0.1,  # seconds; dispatch latency on an idle worker
        }
        url = "filesystem://"
    elif url.startswith(("redis://", "rediss://")):
        # Claims in the database make a second delivery harmless, so the visibility timeout
        # only bounds how long an unacknowledged message waits; a day keeps redeliveries rare.
        options = {"visibility_timeout": 24 * 3600}
    return {
        "broker_url": url,
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": TRAIN_QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,  # results live in the database
        "task_ignore_result": True,
    }
