"""A Server-Sent Events reader for tests: follows a stream in a thread and records every message,
so a test can start one mid-job, cut it, and start another with Last-Event-ID."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource


@dataclass(frozen=True)
class Message:
    id: int | None
    event: str
    data: dict[str, Any]


class StreamReader(threading.Thread):
    """GET `path` as an event stream until the server ends it, or `cut(message)` says stop
    (the connection is then closed from this side, as a client that loses it)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        path: str,
        *,
        last_event_id: int | None = None,
        cut: Callable[[Message], bool] | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.url = base_url + path
        self.headers = {"Authorization": f"Bearer {key}"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = str(last_event_id)
        self.cut = cut
        self.messages: list[Message] = []
        self.status: int | None = None
        self.content_type: str | None = None
        self.ended_by_server = False
        self.error: BaseException | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=40.0)  # keep-alive comments come every 15 s
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status = response.status_code
                self.content_type = response.headers.get("content-type")
                self.connected.set()
                if response.status_code != 200:
                    return
                for sse in EventSource(response).iter_sse():
                    if not sse.data:
                        continue
                    # The SSE spec keeps the last id for messages without one (progress).
                    stored = sse.event != "progress" and sse.id
                    message = Message(
                        id=int(sse.id) if stored else None,
                        event=sse.event,
                        data=json.loads(sse.data),
                    )
                    self.messages.append(message)
                    if self.cut is not None and self.cut(message):
                        return
                self.ended_by_server = True
        except BaseException as error:
            self.error = error
        finally:
            self.connected.set()

    def stored(self) -> list[Message]:
        """The messages with an id (stored events), in order."""
        return [m for m in self.messages if m.id is not None]

    def finish(self, timeout: float) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"the stream of {self.url} did not end within {timeout} s"
        assert self.error is None, f"the stream of {self.url} failed: {self.error!r}"
