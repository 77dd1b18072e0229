"""The producer side of the training queue: the API sends job ids by task name, nothing more.

The API never imports the worker; both build a Celery app from `core.broker.celery_config`.
Sending is bounded in time, so a dead broker costs a request about a second, not a hang.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery
from kombu.exceptions import KombuError

from core.broker import TRAIN_QUEUE, TRAIN_TASK, celery_config
from core.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 2.0
# Two quick retries ride out a broker restart or a dropped pooled connection; no more.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3}


class QueueUnavailable(Exception):
    """The broker did not take the message."""


class JobQueue:
    """Sends job ids to the training queue; one per process and broker URL."""

    def __init__(self, settings: Settings) -> None:
        config = celery_config(settings)
        if config["broker_url"].startswith(("redis://", "rediss://")):
            config["broker_transport_options"] = {
                **config["broker_transport_options"],
                "socket_connect_timeout": CONNECT_TIMEOUT_S,
                "socket_timeout": SOCKET_TIMEOUT_S,
            }
        config["task_publish_retry_policy"] = PUBLISH_RETRY
        config["broker_connection_timeout"] = CONNECT_TIMEOUT_S
        self._celery = Celery("api", set_as_current=False)
        self._celery.conf.update(config)

    def send(self, job_id: uuid.UUID) -> None:
        """Hand the job id to the broker, or raise QueueUnavailable."""
        try:
            self._celery.send_task(
                TRAIN_TASK,
                args=[str(job_id)],
                queue=TRAIN_QUEUE,
                retry=True,
                retry_policy=PUBLISH_RETRY,
            )
        except (KombuError, OSError) as error:
            log.warning("could not send job %s to the broker: %r", job_id, error)
            raise QueueUnavailable(str(error)) from error

    def ping(self) -> None:
        """Open a broker connection, or raise QueueUnavailable."""
        try:
            with self._celery.connection_for_write() as connection:
                connection.ensure_connection(
                    max_retries=1, interval_start=0, timeout=CONNECT_TIMEOUT_S
                )
                # A connection alone proves little on Redis: ask the server.
                client: Any = getattr(connection.default_channel, "client", None)
                if client is not None:
                    client.ping()
        except (KombuError, OSError) as error:
            raise QueueUnavailable(str(error)) from error
