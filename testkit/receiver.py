"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread, answering the
given status codes in turn and keeping every request (headers, body)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.processes import free_port


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1 answering the given status codes in turn."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.requests: list[tuple[dict[str, str], bytes]] = []
        super().__init__(("127.0.0.1", free_port()), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/crs"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
        answers = self.server.answers
        self.send_response(answers[min(len(self.server.requests), len(answers)) - 1])
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def receiving(answers: list[int]) -> Iterator[Receiver]:
    """A running receiver, shut down on exit."""
    receiver = Receiver(answers)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()
