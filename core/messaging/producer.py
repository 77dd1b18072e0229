"""Sending a job's id to the training queue, and recording that it was sent: one way, used by the
API (`POST /jobs`) and by the worker (its reaper's outbox, hand-backs, take-backs).

The broker carries ids only, sent by task name (the API never imports the worker). Sending is
bounded in time, so a dead broker costs a caller about a second at most, never a hang; and
while the broker is known to be down, only one caller at a time pays even that (`Producer`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu.exceptions import KombuError
from sqlalchemy.orm import Session, sessionmaker

from core.messaging.broker import TRAIN_QUEUE, TRAIN_TASK, celery_config
from core.settings import Settings
from core.store.jobs import mark_enqueued

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 2.0
# Two quick retries ride out a broker restart or a dropped pooled connection; no more.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3}

# Runs one unit of store work in a session of its own and commits it (the API: a fresh short
# transaction; the worker: `worker.store_calls.store_call`, which also retries a database restart).
StoreCall = Callable[[Callable[[Session], None]], None]


class BrokerUnavailable(Exception):
    """The broker did not take the message."""


class Producer:
    """Sends tasks by name to the broker; one per process and broker URL, shared by threads."""

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
        self._celery = Celery("producer", set_as_current=False)
        self._celery.conf.update(config)
        # Once a send fails, the broker counts as down: one send at a time tries it again (the
        # probe), the others fail at once instead of each paying the timeouts and holding a
        # thread. The first send to succeed marks it up again.
        self._lock = threading.Lock()
        self._down = False
        self._probing = False

    def send_task(self, name: str, args: list[Any], queue: str) -> None:
        """Hand one message to the broker, or raise BrokerUnavailable."""
        with self._lock:
            if self._down and self._probing:
                raise BrokerUnavailable("the broker is down (another request is trying it)")
            probe = self._probing = self._down
        try:
            self._celery.send_task(
                name, args=args, queue=queue, retry=True, retry_policy=PUBLISH_RETRY
            )
        except (KombuError, OSError) as error:
            with self._lock:
                self._down = True
            log.warning("could not send %s%s to the broker: %r", name, args, error)
            raise BrokerUnavailable(str(error)) from error
        else:
            with self._lock:
                self._down = False
        finally:
            if probe:
                with self._lock:
                    self._probing = False

    def send(self, job_id: uuid.UUID) -> None:
        """Hand the job id to the training queue, or raise BrokerUnavailable."""
        self.send_task(TRAIN_TASK, [str(job_id)], TRAIN_QUEUE)

    def ping(self) -> None:
        """Open a broker connection, or raise BrokerUnavailable."""
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
            raise BrokerUnavailable(str(error)) from error

    def close(self) -> None:
        self._celery.close()


def send_job(job_id: uuid.UUID, *, producer: Producer, store: StoreCall) -> None:
    """Send the job's id to the training queue, then mark it enqueued (the outbox's mark).

    Sending before marking means a crash in between leaves the job in the outbox, to be sent
    again by a reaper: a second message is harmless (the claim drops it), a missing one is not.
    No database connection is held while the broker is called. Raises BrokerUnavailable when
    the broker refuses; what becomes of the job then is the caller's choice.
    """
    producer.send(job_id)
    store(lambda session: mark_enqueued(session=session, job_id=job_id))
    log.info("job %s sent to queue %s", job_id, TRAIN_QUEUE)


def in_new_session(sessions: sessionmaker[Session]) -> StoreCall:
    """A StoreCall that runs the work in a fresh session, committed and closed at once."""

    def call(work: Callable[[Session], None]) -> None:
        with sessions() as session:
            work(session)
            session.commit()

    return call
