"""The producer side of the training queue: the API sends job ids by task name, nothing more.

The API never imports the worker. The producer itself, with its timeouts, and the one way to
send a job and mark it sent live in core.messaging.producer, which the worker uses too.
"""

from __future__ import annotations

from kombu.exceptions import KombuError

from core.messaging.broker import WEBHOOK_QUEUE, WEBHOOK_TASK
from core.messaging.producer import PUBLISH_RETRY, Producer
from core.messaging.producer import BrokerUnavailable as QueueUnavailable

__all__ = ["JobQueue", "QueueUnavailable"]


class JobQueue(Producer):
    """Sends job ids (`send`), webhook deliveries, and checks the broker (`ping`); one per app."""

    def send_webhook(self, delivery_id: int) -> None:
        """Hand a webhook delivery to the `webhooks` queue (issue 8), or raise QueueUnavailable.
        A delivery that never gets there stays pending: a worker's reaper sends it later."""
        try:
            self._celery.send_task(
                WEBHOOK_TASK,
                args=[delivery_id],
                queue=WEBHOOK_QUEUE,
                retry=True,
                retry_policy=PUBLISH_RETRY,
            )
        except (KombuError, OSError) as error:
            raise QueueUnavailable(str(error)) from error
