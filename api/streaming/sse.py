"""A stream's bytes (Server-Sent Events): a job's stored events after a cursor, then the live
ones from the hub with `progress`, until the job's final status; or an owner's stream: its jobs'
`status` events and its data sets' `dataset` events (issue 19).
Comment lines keep idle connections open through proxies."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from api.streaming.event_hub import Hub, Subscriber
from core.store.events import (
    event_message,
    is_final,
    job_status,
    list_events,
    owner_stream_events,
    public,
)
from core.vocabulary import OWNER_STREAM_TYPES, PROGRESS_EVENT

KEEPALIVE_S = 15.0  # a comment line at least this often keeps proxies from closing a stream
# Comment lines, without the blank line that ends a message: a parser that (unlike the spec)
# dispatches an empty message on a blank line after a comment sees nothing.
CONNECTED = b": connected\n"
KEEPALIVE = b": keep-alive\n"


def sse_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        # No caching, and no buffering in nginx-like proxies.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def frame(message: dict[str, Any]) -> bytes:
    if "frame" in message:  # framed once by the hub for every stream
        return bytes(message["frame"])
    if message["type"] == PROGRESS_EVENT:
        return f"event: progress\ndata: {json.dumps(message, separators=(',', ':'))}\n\n".encode()
    data = json.dumps(public(message), separators=(",", ":"))
    return f"id: {message['id']}\nevent: {message['type']}\ndata: {data}\n\n".encode()


async def _next(sub: Subscriber) -> dict[str, Any] | None:
    """The next message, or None after KEEPALIVE_S without one."""
    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(KEEPALIVE_S):  # no task per wait, unlike wait_for
                return await sub.queue.get()
        return await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
    except (TimeoutError, asyncio.TimeoutError):
        return None


def _stored_after(
    sessions: sessionmaker[Session], job_id: uuid.UUID, after: int
) -> tuple[bool, list[dict[str, Any]]]:
    """(job ended?, its stored events after `after`). The status is read first: if it says
    ended, the final event is among the events read after it."""
    with sessions() as session:
        status = job_status(session=session, job_id=job_id)
        rows = list_events(session=session, job_id=job_id, after=after)
        return status is not None and status.terminal, [event_message(r) for r in rows]


async def follow_job(
    hub: Hub, sessions: sessionmaker[Session], job_id: uuid.UUID, after: int
) -> AsyncIterator[bytes]:
    # Subscribed before the stored events are read: nothing committed in between is missed.
    sub = await hub.subscribe(job_id=job_id)
    try:
        yield CONNECTED
        last = after
        ended, stored = await anyio.to_thread.run_sync(_stored_after, sessions, job_id, last)
        for message in stored:
            yield frame(message)
            last = message["id"]
            if is_final(message):
                return
        if ended:
            return
        while True:
            if sub.overflowed:
                sub.overflowed = False
                # Messages were dropped for this slow reader: re-read the log.
                message = {"type": "gap", "id": None, "prev_id": last + 1}
            else:
                got = await _next(sub)
                if got is None:
                    yield KEEPALIVE
                    continue
                message = got
            if message["type"] == PROGRESS_EVENT:
                yield frame(message)
                continue
            if message["id"] is not None and message["id"] <= last:
                continue  # seen: a stored one, or the poller's copy of a pushed one
            if message.get("prev_id") is not None and message["prev_id"] > last:
                # An event of this job was not seen (published out of order, or lost): the
                # log has it, committed before this one.
                _, missed = await anyio.to_thread.run_sync(_stored_after, sessions, job_id, last)
                batch = missed
            else:
                batch = [message]
            for item in batch:
                yield frame(item)
                last = item["id"]
                if is_final(item):
                    return
    finally:
        hub.unsubscribe(sub)


async def follow_owner(
    hub: Hub, sessions: sessionmaker[Session], owner_id: uuid.UUID, after: int | None
) -> AsyncIterator[bytes]:
    sub = await hub.subscribe(owner_id=owner_id)
    try:
        yield CONNECTED
        sent: set[int] = set()
        if after is not None:
            rows = await anyio.to_thread.run_sync(_owner_stored, sessions, owner_id, after)
            for message in rows:
                sent.add(message["id"])
                yield frame(message)
        while True:
            got = await _next(sub)
            if got is None:
                yield KEEPALIVE
                continue
            if got["type"] not in OWNER_STREAM_TYPES or got["id"] in sent:
                continue
            if after and got["id"] <= after:
                continue
            sent.add(got["id"])
            if len(sent) > 10000:  # the poller re-sends only the last seconds' events
                sent = set(sorted(sent)[-1000:])
            yield frame(got)
    finally:
        hub.unsubscribe(sub)


def _owner_stored(
    sessions: sessionmaker[Session], owner_id: uuid.UUID, after: int
) -> list[dict[str, Any]]:
    with sessions() as session:
        rows = owner_stream_events(session=session, owner_id=owner_id, after=after)
        return [event_message(row) for row in rows]
