"""The worker's way to send a job: core.messaging.producer.send_job with this process's
producer and the retrying store calls of `worker.store_calls` (the reaper's outbox, hand-backs
and take-backs use it)."""

from __future__ import annotations

import threading
import uuid

from core.messaging.producer import Producer, send_job
from core.settings import Settings, get_settings
from worker.store_calls import store_call

_producers: dict[str, Producer] = {}
_lock = threading.Lock()


def producer(settings: Settings) -> Producer:
    """One producer per broker URL in this process, shared by the task and the reaper thread."""
    with _lock:
        if settings.broker_url not in _producers:
            _producers[settings.broker_url] = Producer(settings)
        return _producers[settings.broker_url]


def send(job_id: uuid.UUID, *, settings: Settings | None = None) -> None:
    """Send the job's id to the training queue and mark it enqueued; raises
    core.messaging.producer.BrokerUnavailable when the broker refuses (the job stays in the
    outbox)."""
    settings = settings or get_settings()
    send_job(
        job_id,
        producer=producer(settings),
        store=lambda work: store_call(settings, work, what=f"mark job {job_id} enqueued"),
    )
