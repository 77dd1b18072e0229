"""What the API answers about a job's events and webhook deliveries (issue 8)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.vocabulary import EventType

JOB_ID = "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b"
EVENT_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "job_id": JOB_ID,
    "type": "status",
    "created_at": "2026-11-23T19:12:20.731343+00:00",
    "data": {"status": "running", "attempt": 1, "worker": "celery@gpu-1"},
}


class EventView(BaseModel):
    id: int = Field(description="increasing; pass as `after` or Last-Event-ID to read on")
    job_id: uuid.UUID
    type: EventType
    # A string, written once by the store: the list, the stream and webhooks show it alike.
    created_at: str = Field(description="ISO 8601, UTC (e.g. 2026-11-23T19:12:20.731343+00:00)")
    data: dict[str, Any] = Field(
        description="status: status, attempt, worker (and error for failed); attempt: attempt, "
        "worker, start (fresh or resumed), epoch, batch; epoch: the /metrics record; "
        "warning: code, message"
    )


class EventPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"events": [EVENT_EXAMPLE], "next_cursor": None}]}
    )

    events: list[EventView] = Field(description="oldest first")
    next_cursor: str | None = Field(
        description="pass as `cursor` (or `after`) for the next page; null at the end"
    )


class WebhookAttemptView(BaseModel):
    attempt: int
    attempted_at: datetime
    status_code: int | None = Field(description="the receiver's answer; null: none came")
    duration_ms: float
    error: str | None = Field(description="time-out, refused connection, refused address")
    next_try_at: datetime | None


class WebhookDeliveryView(BaseModel):
    id: int
    event_id: int
    event_type: EventType
    url: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttemptView]
    next_try_at: datetime | None = Field(description="when the next attempt goes out, if pending")


class WebhookDeliveries(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": JOB_ID,
                    "deliveries": [
                        {
                            "id": 7,
                            "event_id": 58,
                            "event_type": "status",
                            "url": "https://example.org/hooks/crs",
                            "state": "delivered",
                            "attempts": [
                                {
                                    "attempt": 1,
                                    "attempted_at": "2026-11-23T19:40:02Z",
                                    "status_code": 200,
                                    "duration_ms": 84.2,
                                    "error": None,
                                    "next_try_at": None,
                                }
                            ],
                            "next_try_at": None,
                        }
                    ],
                }
            ]
        }
    )

    job_id: uuid.UUID
    deliveries: list[WebhookDeliveryView] = Field(description="oldest first")
