"""Request body limits, enforced as the bytes arrive, on every route and before authentication.

A declared `Content-Length` over the route's limit is answered 413 before anything is read. A
body without one (`Transfer-Encoding: chunked`) is counted message by message as the route reads
it, and reading stops with a 413 at the first byte past the limit; so no request, with a key or
without, makes the API hold more than the limit in memory. FastAPI reads a route's body before it
resolves dependencies, so this happens before the key is checked.

Every route gets `Settings.max_body_bytes` (64 KiB: a JSON job spec is under 1 KiB). A route that
takes more, such as an upload, declares its own limit in `route_limits` below: the one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response
from core.settings import Settings
from core.vocabulary import ErrorCode


@dataclass(frozen=True)
class RouteLimit:
    """The most bytes a request body to `method` `path` may have. `path` is the route's template
    as declared in the router; a `{parameter}` segment matches any one segment."""

    method: str
    path: str
    max_bytes: int

    def matches(self, method: str, segments: list[str]) -> bool:
        own = self.path.strip("/").split("/")
        return (
            method == self.method
            and len(own) == len(segments)
            and all(a == b or a.startswith("{") for a, b in zip(own, segments, strict=True))
        )


def route_limits(settings: Settings) -> tuple[RouteLimit, ...]:
    """Routes whose bodies may be larger than `settings.max_body_bytes`, e.g. a later upload:
    `RouteLimit("POST", "/jobs/{job_id}/predict", settings.max_upload_bytes)`."""
    return (
        # Up to predict_max_images uploaded files, or their JSON arrays (issue 11).
        RouteLimit("POST", "/jobs/{job_id}/predict", settings.predict_max_body_bytes),
        # A data set's archive, streamed to a temporary file (issue 19).
        RouteLimit("POST", "/datasets", settings.dataset_max_upload_bytes),
    )


class BodyTooLarge(HTTPException):
    """Raised from `receive` past the limit, to stop the reader. An HTTPException, so that
    FastAPI's body reading lets it through (it turns other errors into a 400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"the request body is over {max_bytes} bytes, the most this route accepts",
            # The rest of the body is never read: the connection cannot be reused.
            headers={"Connection": "close"},
        )


class BodyLimit:
    """ASGI middleware: the limits above, on every HTTP request."""

    def __init__(
        self, app: ASGIApp, *, default_bytes: int, routes: Sequence[RouteLimit] = ()
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.routes = tuple(routes)

    def limit_for(self, method: str, path: str) -> int:
        segments = path.strip("/").split("/")
        for route in self.routes:
            if route.matches(method, segments):
                return route.max_bytes
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _answer(BodyTooLarge(limit), scope, receive, send)
                return

        received = 0
        exceeded = started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app makes of BodyTooLarge, the answer is the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _answer(BodyTooLarge(limit), scope, receive, send)


async def _answer(error: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    headers = dict(error.headers or {})
    response = error_response(ApiError(413, ErrorCode.too_large, error.detail, headers=headers))
    await response(scope, receive, send)
