"""Which workers train: those that consume the `training` queue, read from Celery's own
selection of queues (`-Q`), as `worker_ready` hands it to the signal handlers."""

from __future__ import annotations

from types import SimpleNamespace

from celery import Celery

from core.messaging.broker import TRAIN_QUEUE, WEBHOOK_QUEUE
from worker.signals import _trains


def _consumer(*queues: str) -> SimpleNamespace:
    app = Celery("queues-under-test", set_as_current=False)
    for name in queues:
        app.amqp.queues.select_add(name)
    return SimpleNamespace(app=app)  # what handlers read of the Consumer: its app


def test_a_worker_of_the_training_queue_trains() -> None:
    assert _trains(_consumer(TRAIN_QUEUE))
    assert _trains(_consumer(TRAIN_QUEUE, WEBHOOK_QUEUE))


def test_a_webhook_worker_trains_nothing() -> None:
    assert not _trains(_consumer(WEBHOOK_QUEUE))


def test_no_consumer_counts_as_a_training_worker() -> None:
    assert _trains(None)
