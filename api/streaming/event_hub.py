"""The API process's live feed (issue 8): one hub per process that learns of new events and
progress reports and hands them to the open streams, so no stream queries the database per tick.

Sources: with a Redis broker, a pub/sub subscription (`core.messaging.event_channel`:
workers publish each event right after its commit, and every progress report); and in every
set-up one shared poller of the
events table (one query per tick for the whole process, only while a stream is open): on the
embedded set-up it is the only source (every 0.25 s, with the progress rows), with Redis it is a
safety net every 2 s for a message lost while Redis was away. A stream drops what it has seen
(each event carries its id, and the id of the job's previous event: a stream that sees a gap
re-reads the job's log once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from api.submission.job_queue import JobQueue, QueueUnavailable
from core.messaging.event_channel import channel, event_publisher, progress_channel, redis_url
from core.settings import Settings
from core.store.events import (
    Committed,
    add_commit_listener,
    event_message,
    events_after,
    last_event_id_before,
    listeners,
    remove_commit_listener,
)
from core.store.progress import progress_since
from core.store.types import utcnow
from core.vocabulary import OWNER_STREAM_TYPES, PROGRESS_EVENT

log = logging.getLogger(__name__)

# An event's transaction commits within this many seconds of its created_at: the poller reads
# that far back, so a commit that lands after a later id's is not skipped.
COMMIT_LAG_S = 10.0
EMBEDDED_POLL_S = 0.25
SAFETY_POLL_S = 2.0
QUEUE_SIZE = 1000  # messages a slow stream may have pending before it re-reads from the database


def progress_frame(raw: bytes) -> dict[str, Any]:
    """A progress report from Redis (`<job id> <JSON>`), framed once for every stream."""
    job_id, _, body = raw.partition(b" ")
    return {
        "type": PROGRESS_EVENT,
        "job_id": job_id.decode(),
        "frame": b"event: progress\ndata: " + body + b"\n\n",
    }


class Subscriber:
    """One open stream's inbox."""

    def __init__(self, job_id: str | None, owner_id: str | None) -> None:
        self.job_id = job_id
        self.owner_id = owner_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False  # messages were dropped: the stream re-reads the log

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            if message["type"] != PROGRESS_EVENT:
                self.overflowed = True


class Hub:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.redis_url = redis_url(settings)
        self._by_job: dict[str, set[Subscriber]] = defaultdict(set)
        self._by_owner: dict[str, set[Subscriber]] = defaultdict(set)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening: asyncio.Event | None = None  # set once pub/sub listens

    # --- subscribers ---

    async def subscribe(
        self, *, job_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None
    ) -> Subscriber:
        """An inbox for one job's messages, or an owner's stream (its jobs' status events and
        its data sets' events); from now on."""
        await self._start()
        sub = Subscriber(str(job_id) if job_id else None, str(owner_id) if owner_id else None)
        if sub.job_id is not None:
            self._by_job[sub.job_id].add(sub)
        if sub.owner_id is not None:
            self._by_owner[sub.owner_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        for index, key in ((self._by_job, sub.job_id), (self._by_owner, sub.owner_id)):
            if key is not None and key in index:
                index[key].discard(sub)
                if not index[key]:
                    del index[key]

    @property
    def streams(self) -> int:
        return sum(len(s) for s in self._by_job.values()) + sum(
            len(s) for s in self._by_owner.values()
        )

    def dispatch(self, message: dict[str, Any]) -> None:
        for sub in self._by_job.get(message["job_id"], ()):
            sub.offer(message)
        if message["type"] in OWNER_STREAM_TYPES and message.get("owner_id"):
            for sub in self._by_owner.get(message["owner_id"], ()):
                sub.offer(message)

    # --- sources ---

    async def _start(self) -> None:
        if self._tasks:
            return
        if self.redis_url is not None:
            self._listening = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._listen(self.redis_url)))
            self._tasks.append(asyncio.create_task(self._poll(SAFETY_POLL_S, progress=False)))
            # A stream that subscribes before pub/sub listens would miss what comes meanwhile.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), timeout=2.0)
        else:
            self._tasks.append(asyncio.create_task(self._poll(EMBEDDED_POLL_S, progress=True)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _listen(self, url: str) -> None:
        pause = 0.5
        while True:
            client = aioredis.Redis.from_url(url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel(url), progress_channel(url))
                    progress = progress_channel(url).encode()
                    assert self._listening is not None
                    self._listening.set()
                    pause = 0.5
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        if item["channel"] == progress:
                            self.dispatch(progress_frame(item["data"]))
                            continue
                        try:
                            self.dispatch(json.loads(item["data"]))
                        except (ValueError, KeyError, TypeError):
                            log.warning("unreadable live message %r", item["data"][:200])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("live events: Redis subscription lost (%s); retrying", error)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def _poll(self, interval: float, *, progress: bool) -> None:
        cursor: int | None = None  # every event up to here has been dispatched
        seen: dict[int, datetime] = {}  # events after the cursor already dispatched
        progress_mark = utcnow()
        while True:
            await asyncio.sleep(interval)
            if not self._by_job and not self._by_owner:
                cursor, seen = None, {}  # nobody listens: start afresh when someone does
                progress_mark = utcnow()
                continue
            try:
                cursor, messages, progress_mark = await anyio.to_thread.run_sync(
                    self._poll_once, cursor, seen, progress_mark if progress else None
                )
            except Exception as error:
                log.warning("live events: poll failed (%s); retrying", error)
                continue
            for message in messages:
                self.dispatch(message)

    def _poll_once(
        self, cursor: int | None, seen: dict[int, datetime], progress_after: datetime | None
    ) -> tuple[int, list[dict[str, Any]], datetime]:
        """One query of new events (and progress rows): (new cursor, messages, progress mark).
        Runs in a thread; `seen` is changed in place."""
        now = utcnow()
        settled = now - timedelta(seconds=COMMIT_LAG_S)
        messages: list[dict[str, Any]] = []
        with self.sessions() as session:
            if cursor is None:
                cursor = last_event_id_before(session=session, before=settled)
            for row in events_after(session=session, after=cursor):
                if row.id not in seen:
                    seen[row.id] = row.created_at
                    messages.append(event_message(row))
            mark = progress_after or now
            if progress_after is not None:
                for job_id, data, updated_at in progress_since(
                    session=session, after=progress_after
                ):
                    messages.append({"type": PROGRESS_EVENT, "job_id": str(job_id), "data": data})
                    mark = max(mark, updated_at)
            session.rollback()
        # Advance past events old enough that nothing before them can still commit.
        old = [event_id for event_id, created in seen.items() if created < settled]
        if old:
            cursor = max(cursor, *old)
            for event_id in [i for i in seen if i <= cursor]:
                del seen[event_id]
        return cursor, messages, mark


class WebhookSender:
    """A commit listener: the webhook deliveries of the API's own events (queued, cancelled)
    go to the `webhooks` queue. One per process: a newer app's replaces an older one's."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def __call__(self, committed: Committed) -> None:
        for delivery_id in committed.deliveries:
            try:
                self.queue.send_webhook(delivery_id)
            except QueueUnavailable as error:
                log.warning(
                    "webhook delivery %d not sent (%s); the reaper sends it", delivery_id, error
                )


def install(settings: Settings, queue: JobQueue) -> None:
    """Register the API process's commit listeners: Redis publishing and webhook sending."""
    publisher = event_publisher(settings)
    if publisher is not None:
        add_commit_listener(publisher)
    for listener in [item for item in listeners() if isinstance(item, WebhookSender)]:
        remove_commit_listener(listener)
    add_commit_listener(WebhookSender(queue))
