"""What the worker's processes do after each commit of the store (issue 8): publish the new
events (Redis) and send their webhook deliveries to the `webhooks` queue.

Both the worker's main process and the training process install these listeners. Deliveries
are sent by task name from a Celery app of their own, so the training process never builds the
worker's app (`worker.app`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from celery import Celery

from core.messaging.broker import WEBHOOK_QUEUE, WEBHOOK_TASK, celery_config
from core.messaging.event_channel import event_publisher
from core.settings import Settings
from core.store.events import Committed, add_commit_listener

SendWebhook = Callable[[int, float], None]  # (delivery id, countdown in seconds)

_senders: dict[str, Celery] = {}
_lock = threading.Lock()


def _sender(settings: Settings) -> Celery:
    """One sending app per broker URL in this process."""
    with _lock:
        if settings.broker_url not in _senders:
            app = Celery("webhook-sender", set_as_current=False)
            app.conf.update(celery_config(settings))
            _senders[settings.broker_url] = app
        return _senders[settings.broker_url]


def send_webhook(delivery_id: int, countdown: float = 0.0, *, settings: Settings) -> None:
    """Send one delivery to the `webhooks` queue, after `countdown` seconds."""
    _sender(settings).send_task(
        WEBHOOK_TASK,
        args=[delivery_id],
        queue=WEBHOOK_QUEUE,
        countdown=countdown if countdown > 0 else None,
    )


def webhook_sender(settings: Settings) -> SendWebhook:
    return partial(send_webhook, settings=settings)


def install(settings: Settings) -> None:
    """Register this process's commit listeners (idempotent; the last settings count)."""
    global _install_settings
    publisher = event_publisher(settings)
    if publisher is not None:
        add_commit_listener(publisher)
    _install_settings = settings
    add_commit_listener(_send_deliveries)


_install_settings: Settings | None = None


def _send_deliveries(committed: Committed) -> None:
    if _install_settings is None:
        return
    for delivery_id in committed.deliveries:
        # A send that fails leaves the delivery pending: the reaper's pass sends it later.
        send_webhook(delivery_id, settings=_install_settings)
