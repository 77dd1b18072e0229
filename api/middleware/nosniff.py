"""`X-Content-Type-Options: nosniff` on every response (issue 17): a browser then never runs an
answer (an uploaded image's error, a report, a CSV) as a script or a page its type does not say.
Pure ASGI, so that event streams pass through unbuffered."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"x-content-type-options", b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == HEADER[0] for name, _ in headers):
                    headers.append(HEADER)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
