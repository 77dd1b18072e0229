"""What the service sends back, as typed values: an event, an epoch's metrics, a page of events.

The job itself is `client.job.Job` (it needs the client for its methods). Each type keeps the
answer's JSON as it came (`data`), so fields the server adds later are never lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypedDict

# The client imports nothing of the service, and its CLI must offer `--status` choices without a
# server (usage errors, --help, offline): so it keeps these copies, which
# tests/client/test_vocabulary.py holds equal to core/vocabulary.py.
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "stopped")
TERMINAL = ("succeeded", "failed", "cancelled", "stopped")
EVENT_TYPES = ("status", "attempt", "epoch", "warning", "dataset", "progress")


class EpochRecord(TypedDict):
    """One epoch's metrics, as `GET /jobs/{id}/metrics` and the `epoch` event carry them."""

    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float  # 0 to 1
    test_loss: float
    test_accuracy: float  # 0 to 1
    learning_rate: float  # at the epoch's end
    seconds: float  # wall time of the epoch, evaluation included
    images_per_second: float
    validation_loss: float | None  # None without a validation split (validation_images 0)
    validation_accuracy: float | None  # 0 to 1


@dataclass(frozen=True)
class Event:
    """One thing that happened to a job. `id` is None for the ephemeral `progress` events."""

    type: str
    data: dict[str, Any]
    id: int | None = None
    job_id: str | None = None
    created_at: str | None = None

    @property
    def is_final(self) -> bool:
        """The job's last status: nothing follows it."""
        return self.type == "status" and self.data.get("status") in TERMINAL

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Event:
        """An event as `GET /jobs/{id}/events` lists it."""
        data = item.get("data")
        return cls(
            type=str(item.get("type", "")),
            data=data if isinstance(data, dict) else {},
            id=_int_or_none(item.get("id")),
            job_id=_str_or_none(item.get("job_id")),
            created_at=_str_or_none(item.get("created_at")),
        )

    @classmethod
    def from_sse(cls, event: str, data: str, id_: str | None) -> Event:
        """An event from a Server-Sent Events message (`event:`, `data:` JSON, `id:`).

        The `data:` may hold the whole stored event (id, type, data, ...) or only its data;
        both read the same.
        """
        try:
            payload: Any = json.loads(data) if data else {}
        except ValueError:
            payload = {"text": data}
        if not isinstance(payload, dict):
            payload = {"value": payload}
        wrapped = isinstance(payload.get("data"), dict) and payload.get("type") in (event, None)
        inner: dict[str, Any] = payload["data"] if wrapped else payload
        # An SSE parser keeps the last `id:` for the messages after it that have none (the
        # spec's "last event ID buffer"), so a progress message would seem to repeat the id of
        # the stored event before it: the id inside the event is the one that counts.
        ident = payload.get("id") if wrapped else id_
        return cls(
            type=event or str(payload.get("type", "message")),
            data=inner,
            id=None if event == "progress" else _int_or_none(ident),
            job_id=_str_or_none(payload.get("job_id")),
            created_at=_str_or_none(payload.get("created_at")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_id": self.job_id,
            "type": self.type,
            "created_at": self.created_at,
            "data": self.data,
        }


@dataclass(frozen=True)
class EventPage:
    """One page of a job's stored events, oldest first; pass `next_cursor` on for more."""

    events: list[Event] = field(default_factory=list)
    next_cursor: str | None = None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
