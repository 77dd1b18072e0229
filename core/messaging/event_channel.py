"""Live news between processes (issue 8): committed events and progress reports, pushed from the
workers (and the API itself) to every API process that streams them.

With a Redis broker, both go out on one pub/sub channel the moment they are committed (events)
or measured (progress), and the latest progress of each job is also kept under a key with a TTL
for `GET /jobs/{id}`. On the embedded set-up there is nothing to push to: events are only in
the database, progress goes to one row per job (`core.store.progress`), and each API process
polls both with one shared poller. Torch-free; used by the API and the worker.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

import redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.events import Committed, public
from core.store.progress import get_progress, put_progress

log = logging.getLogger(__name__)

# Seconds a job's latest progress stays readable after its last report: a training process that
# died stops showing progress soon after.
PROGRESS_TTL_S = 60
TIMEOUT_S = 1.0


def redis_url(settings: Settings) -> str | None:
    """The Redis to push through: the broker's, when it is Redis."""
    url = settings.broker_url
    return url if url.startswith(("redis://", "rediss://")) else None


def channel(url: str) -> str:
    """Pub/sub channels span a server's databases: name the database, so that deployments that
    share a server on different databases do not hear each other."""
    db = redis.connection.parse_url(url).get("db", 0)
    return f"crs:live:{db}"


def progress_channel(url: str) -> str:
    """Progress reports have a channel of their own, as `<job id> <JSON>`: the API routes them
    to streams and frames them without parsing the JSON (up to two a second per running job)."""
    return channel(url) + ":progress"


def progress_payload(job_id: uuid.UUID | str, data: dict[str, Any]) -> bytes:
    return (
        f"{job_id} ".encode()
        + json.dumps(progress_message(job_id, data), separators=(",", ":")).encode()
    )


def progress_key(job_id: uuid.UUID | str) -> str:
    return f"crs:progress:{job_id}"


@lru_cache(maxsize=4)
def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)


def progress_message(job_id: uuid.UUID | str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "progress", "job_id": str(job_id), "data": data}


class EventPublisher:
    """A commit listener (`core.store.events.add_commit_listener`) that publishes each
    committed event on the Redis channel. Losing one (Redis away) delays it to the API's
    safety poll; nothing is lost from the log."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.channel = channel(url)

    def __call__(self, committed: Committed) -> None:
        if not committed.events:
            return
        try:
            pipe = client(self.url).pipeline(transaction=False)
            for message in committed.events:
                pipe.publish(
                    self.channel,
                    json.dumps(
                        {
                            **public(message),
                            "prev_id": message["prev_id"],
                            "owner_id": message["owner_id"],
                        }
                    ),
                )
            pipe.execute()
        except RedisError as error:
            log.warning("could not publish %d events: %s", len(committed.events), error)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventPublisher) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)


def event_publisher(settings: Settings) -> EventPublisher | None:
    url = redis_url(settings)
    return EventPublisher(url) if url is not None else None


def publish_progress(
    settings: Settings, session_factory: Any, job_id: uuid.UUID, data: dict[str, Any]
) -> None:
    """Hand the job's latest progress on: Redis (publish, and keep under a TTL) or the row."""
    url = redis_url(settings)
    if url is None:
        with session_factory() as session:
            put_progress(session=session, job_id=job_id, data=data)
        return
    pipe = client(url).pipeline(transaction=False)
    pipe.publish(progress_channel(url), progress_payload(job_id, data))
    pipe.set(progress_key(job_id), json.dumps(data), ex=PROGRESS_TTL_S)
    pipe.execute()


def read_progress(
    settings: Settings, session: Session, job_id: uuid.UUID, *, now: datetime
) -> dict[str, Any] | None:
    """The job's latest progress, if reported in the last PROGRESS_TTL_S seconds."""
    url = redis_url(settings)
    if url is not None:
        try:
            raw = client(url).get(progress_key(job_id))
        except RedisError:
            return None
        return None if raw is None else dict(json.loads(raw))
    found = get_progress(session=session, job_id=job_id)
    if found is None:
        return None
    data, updated_at = found
    if (now - updated_at).total_seconds() > PROGRESS_TTL_S:
        return None
    return data
