"""A job's event log, its live stream (Server-Sent Events) and its webhook deliveries (issue 8)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.deps import CurrentOwner, JobId, SessionDep, db_route, in_thread, services
from api.errors import FieldError, error_doc, invalid
from api.routes.job_docs import NOT_FOUND, UNAUTHORIZED
from api.schemas.events import (
    EventPage,
    EventType,
    EventView,
    WebhookAttemptView,
    WebhookDeliveries,
    WebhookDeliveryView,
)
from api.streaming.event_hub import Hub
from api.streaming.sse import follow_job, follow_owner, sse_response
from api.streaming.stream_slots import StreamSlots
from core.store.events import (
    event_message,
    list_events,
    public,
)
from core.store.jobs import get_job
from core.store.tables import Owner
from core.store.webhook_deliveries import job_deliveries
from core.vocabulary import ErrorCode

router = APIRouter(tags=["events"])

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
# Event ids are BIGINTs: a larger number is no event id, and the database would refuse it.
MAX_EVENT_ID = 2**63 - 1
After = Annotated[
    int | None, Query(ge=0, le=MAX_EVENT_ID, description="only events after this event id")
]


def event_id(text: str) -> int | None:
    """An event id from a header or a cursor; None for anything else (a 422 for the caller)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_EVENT_ID:
        return None
    return int(text)


def hub(request: Request) -> Hub:
    """The process's hub, made on first use."""
    found: Hub | None = getattr(request.app.state, "live", None)
    if found is None:
        found = request.app.state.live = Hub(services(request).settings, services(request).sessions)
    return found


def stream_slots(request: Request) -> StreamSlots:
    """The owners' open streams (api/app.py makes it)."""
    found: StreamSlots = request.app.state.stream_slots
    return found


def _start_after(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is not None and last_event_id.strip():
        value = event_id(last_event_id)
        if value is None:
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
        position = event_id(cursor)
        if position is None:
            raise invalid([FieldError.at("query", "cursor", BAD_CURSOR)])
        after = max(after or 0, position)
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
    body = follow_job(hub(request), services(request).sessions, job_id, start or 0)
    return sse_response(await stream_slots(request).hold(owner.id, body))


@router.get(
    "/events/stream",
    summary="Follow all your jobs and data sets (Server-Sent Events)",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        **STREAM_DOC,
        **UNAUTHORIZED,
        422: error_doc("a bad Last-Event-ID", ErrorCode.validation_error, BAD_CURSOR),
    },
)
async def owner_stream(
    owner: CurrentOwner,
    request: Request,
    after: After = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The `status` events of all your jobs and the `dataset` events of all your uploaded data
    sets (processing, its progress by tenths, ready or failed naming the member at fault; each
    with its `dataset_id`) as they happen; after `Last-Event-ID` or `after`, if given, the
    stored ones first."""
    start = _start_after(after, last_event_id)
    body = follow_owner(hub(request), services(request).sessions, owner.id, start)
    return sse_response(await stream_slots(request).hold(owner.id, body))


@router.get(
    "/jobs/{job_id}/webhook-deliveries",
    summary="A job's webhook deliveries",
    response_model=WebhookDeliveries,
    responses={**UNAUTHORIZED, **NOT_FOUND},
)
@db_route
def webhook_deliveries(
    job_id: JobId, owner: CurrentOwner, session: SessionDep
) -> WebhookDeliveries:
    """Each event sent to the job's webhook_url, with every attempt: status code, duration,
    error, and when the next one goes out."""
    get_job(session=session, owner_id=owner.id, job_id=job_id)
    return WebhookDeliveries(
        job_id=job_id,
        deliveries=[
            WebhookDeliveryView(
                id=delivery.id,
                event_id=delivery.event_id,
                event_type=EventType(event_type),
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
