"""Following a Server-Sent Events stream of the service, across lost connections.

The server gives each stored event an `id:` and, on a reconnect carrying `Last-Event-ID`, sends
every stored event after it (issue 8, "Server-Sent Events"). So after a cut connection, a server
restart or a silent proxy this reconnects with the last id seen and skips anything at or below
it: every stored event arrives once, in order. `progress` events have no id and are not replayed;
they are a live view only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from httpx_sse import SSEError, connect_sse

from client.api_types import Event
from client.errors import (
    ApiError,
    ConnectionFailed,
    ServerError,
    describe_transport_error,
    error_from,
)

log = logging.getLogger(__name__)

# The server sends a comment at least every 15 s; silence this long means a dead connection.
READ_TIMEOUT_S = 45.0
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 5.0)  # then 5 s between tries
GIVE_UP_AFTER_S = 300.0  # of failed reconnects in a row

# Called before each reconnect with the number of the try and why the last one ended.
OnReconnect = Callable[[int, str], None]


class StreamEnded(Exception):
    """The server closed the stream before the job's final status (it restarts, say)."""


def follow(
    http: httpx.Client,
    path: str,
    *,
    after: int | None = None,
    params: dict[str, Any] | None = None,
    until_final: bool = True,
    on_reconnect: OnReconnect | None = None,
    give_up_after_s: float = GIVE_UP_AFTER_S,
) -> Iterator[Event]:
    """Yield the stream's events, reconnecting with Last-Event-ID when the connection is lost.

    With `until_final`, it returns after the job's final `status` event (and a stream that ends
    before it is a lost connection); without, it ends only when the server ends the stream.
    Raises ApiError for a refusal other than 5xx (wrong key, no such job) and ConnectionFailed
    once reconnecting has failed for `give_up_after_s`.
    """
    last_id = after
    tries = 0
    failing_since: float | None = None
    delay_hint: float | None = None
    while True:
        headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
        timeout = httpx.Timeout(http.timeout.connect or 10.0, read=READ_TIMEOUT_S)
        try:
            with connect_sse(
                http, "GET", path, params=params, headers=headers, timeout=timeout
            ) as source:
                response = source.response
                if response.status_code != 200:
                    response.read()
                    raise error_from(response)
                for message in source.iter_sse():
                    if message.retry is not None:
                        delay_hint = message.retry / 1000  # SSE's retry: is in milliseconds
                    event = Event.from_sse(message.event, message.data, message.id or None)
                    if event.id is not None:
                        if last_id is not None and event.id <= last_id:
                            continue  # already seen before the reconnect
                        last_id = event.id
                    tries, failing_since = 0, None
                    yield event
                    if until_final and event.is_final:
                        return
            if not until_final:
                return
            raise StreamEnded("the server ended the stream before the job's final status")
        except ServerError as error:
            reason = error.summary()  # 503 while the API or its database restarts: retry
        except (httpx.TransportError, SSEError, StreamEnded) as error:
            reason = (
                describe_transport_error(error)
                if isinstance(error, httpx.TransportError)
                else str(error)
            )
        except ApiError:
            raise
        now = time.monotonic()
        failing_since = failing_since if failing_since is not None else now
        if now - failing_since > give_up_after_s:
            raise ConnectionFailed(str(http.base_url), f"{reason} (gave up reconnecting)")
        tries += 1
        log.info("event stream lost (%s); reconnect %d after event id %s", reason, tries, last_id)
        if on_reconnect is not None:
            on_reconnect(tries, reason)
        delay = RETRY_DELAYS_S[min(tries, len(RETRY_DELAYS_S)) - 1]
        time.sleep(min(delay_hint, 30.0) if delay_hint is not None and tries == 1 else delay)
