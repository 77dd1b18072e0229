"""A job's event log, its live stream (Server-Sent Events) and its webhook deliveries (issue 8)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from api.deps import CurrentOwner, SessionDep, in_thread, services
from api.errors import FieldError, error_doc, invalid
from api.live import Hub, Subscriber
from api.routes.job_docs import NOT_FOUND, UNAUTHORIZED
from api.routes.jobs import JobId
from api.schemas.events import (
    EventPage,
    EventType,
    EventView,
    WebhookAttemptView,
    WebhookDeliveries,
    WebhookDeliveryView,
)
from core.store.events import (
    event_message,
    is_final,
    job_status,
    list_events,
    owner_status_events,
    public,
)
from core.store.jobs import get_job
from core.store.tables import Owner
from core.store.webhooks import job_deliveries

router = APIRouter(tags=["events"])

KEEPALIVE_S = 15.0  # a comment line at least this often keeps proxies from closing a stream
# Comment lines, without the blank line that ends a message: a parser that (unlike the spec)
# dispatches an empty message on a blank line after a comment sees nothing.
CONNECTED = b": connected\n"
KEEPALIVE = b": keep-alive\n"
STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: messages with `id:` (none for progress), `event:` "
        "(the type) and `data:` (the event as JSON); a comment line at least every 15 s",
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "example": 'id: 42\nevent: status\ndata: {"id": 42, "type": "status", '
                '"data": {"status": "running"}}\n\nevent: progress\ndata: '
                '{"epoch": 3, "batch": 120, "batches": 391}\n\n: keep-alive\n',
            }
        },
    },
}
BAD_CURSOR = "an event id (a non-negative integer), as `id:` of a message or `id` of an event"
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=40,
        description="the last event id seen: the stream starts after it (a browser's "
        "EventSource sends it when it reconnects)",
    ),
]
After = Annotated[int | None, Query(ge=0, description="only events after this event id")]


def hub(request: Request) -> Hub:
    """The process's hub, made on first use."""
    found: Hub | None = getattr(request.app.state, "live", None)
    if found is None:
        found = request.app.state.live = Hub(services(request).settings, services(request).sessions)
    return found


def _start_after(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            value = -1
        if value < 0:
            raise invalid([FieldError.at("header", "Last-Event-ID", BAD_CURSOR)])
        return value
    return after


@router.get(
    "/jobs/{job_id}/events",
    summary="A job's event log",
    response_model=EventPage,
    responses={**UNAUTHORIZED, **NOT_FOUND},
)
async def events(
    job_id: JobId,
    owner: CurrentOwner,
    session: SessionDep,
    after: After = None,
    cursor: Annotated[
        str | None, Query(max_length=40, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="events per page")] = 100,
    type_: Annotated[
        list[EventType] | None, Query(alias="type", description="only events of these types")
    ] = None,
) -> EventPage:
    """Everything that happened to the job, oldest first: status, attempt, epoch, warning."""
    if cursor is not None:
        if not cursor.isdigit():
            raise invalid([FieldError.at("query", "cursor", BAD_CURSOR)])
        after = max(after or 0, int(cursor))
    return await in_thread(session, _events, owner, job_id, after, limit, type_)


def _events(
    session: Session,
    owner: Owner,
    job_id: uuid.UUID,
    after: int | None,
    limit: int,
    types: list[EventType] | None,
) -> EventPage:
    get_job(session=session, owner_id=owner.id, job_id=job_id)
    rows = list_events(
        session=session, job_id=job_id, after=after, limit=limit, types=list(types or [])
    )
    return EventPage(
        events=[EventView.model_validate(public(event_message(row))) for row in rows],
        next_cursor=str(rows[-1].id) if len(rows) == limit else None,
    )


@router.get(
    "/jobs/{job_id}/events/stream",
    summary="Follow a job (Server-Sent Events)",
    response_class=StreamingResponse,
    response_model=None,
    responses={**STREAM_DOC, **UNAUTHORIZED, **NOT_FOUND},
)
async def job_stream(
    job_id: JobId,
    owner: CurrentOwner,
    session: SessionDep,
    request: Request,
    after: After = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The job's stored events after `Last-Event-ID` (or `after`), then the live ones with
    `progress`; the stream ends after the job's final status."""
    start = _start_after(after, last_event_id)
    await in_thread(session, lambda s: get_job(session=s, owner_id=owner.id, job_id=job_id))
    body = _follow_job(hub(request), services(request).sessions, job_id, start or 0)
    return _sse(body)


@router.get(
    "/events/stream",
    summary="Follow all your jobs (Server-Sent Events)",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        **STREAM_DOC,
        **UNAUTHORIZED,
        422: error_doc("a bad Last-Event-ID", "validation_error", BAD_CURSOR),
    },
)
async def owner_stream(
    owner: CurrentOwner,
    request: Request,
    after: After = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The `status` events of all your jobs as they happen (after `Last-Event-ID` or `after`,
    if given, the stored ones first)."""
    start = _start_after(after, last_event_id)
    return _sse(_follow_owner(hub(request), services(request).sessions, owner.id, start))


def _sse(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        # No caching, and no buffering in nginx-like proxies.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def frame(message: dict[str, Any]) -> bytes:
    if "frame" in message:  # framed once by the hub for every stream
        return bytes(message["frame"])
    if message["type"] == "progress":
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


async def _follow_job(
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
            if message["type"] == "progress":
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


async def _follow_owner(
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
            if got["type"] != "status" or got["id"] in sent or (after and got["id"] <= after):
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
        rows = owner_status_events(session=session, owner_id=owner_id, after=after)
        return [event_message(row) for row in rows]


@router.get(
    "/jobs/{job_id}/webhook-deliveries",
    summary="A job's webhook deliveries",
    response_model=WebhookDeliveries,
    responses={**UNAUTHORIZED, **NOT_FOUND},
)
async def webhook_deliveries(
    job_id: JobId, owner: CurrentOwner, session: SessionDep
) -> WebhookDeliveries:
    """Each event sent to the job's webhook_url, with every attempt: status code, duration,
    error, and when the next one goes out."""
    return await in_thread(session, _deliveries, owner, job_id)


def _deliveries(session: Session, owner: Owner, job_id: uuid.UUID) -> WebhookDeliveries:
    get_job(session=session, owner_id=owner.id, job_id=job_id)
    return WebhookDeliveries(
        job_id=job_id,
        deliveries=[
            WebhookDeliveryView(
                id=delivery.id,
                event_id=delivery.event_id,
                event_type=event_type,
                url=delivery.url,
                state=delivery.state,  # type: ignore[arg-type]
                next_try_at=delivery.next_try_at if delivery.state == "pending" else None,
                attempts=[
                    WebhookAttemptView(
                        attempt=a.attempt,
                        attempted_at=a.attempted_at,
                        status_code=a.status_code,
                        duration_ms=round(a.duration_ms, 1),
                        error=a.error,
                        next_try_at=a.next_try_at,
                    )
                    for a in attempts
                ],
            )
            for delivery, event_type, attempts in job_deliveries(session=session, job_id=job_id)
        ],
    )
