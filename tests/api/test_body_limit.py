"""Request bodies: counted as they arrive, 413 past the route's limit, before the key is checked;
and a 422 that lists a bounded number of fields however many a body gets wrong."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.errors import MAX_FIELD_ERRORS
from api.middleware.body_limit import BodyLimit, RouteLimit
from core.store.migrate import upgrade
from testkit.processes import Processes
from testkit.procfs import rss_kib
from testkit.starters import start_api
from tests.api.conftest import SPEC, Api

LIMIT = 64 * 1024  # Settings.max_body_bytes by default
JSON = {"Content-Type": "application/json"}


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield b" " * part
        sent += part


def _assert_413(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.json()["error"]["code"] == "too_large"  # type: ignore[attr-defined]


def test_body_declared_over_limit_is_413_before_the_key_is_checked(api: Api) -> None:
    body = b" " * (LIMIT + 1)
    _assert_413(api.client.post("/jobs", content=body, headers=JSON))  # no key at all
    _assert_413(api.client.post("/jobs", content=body, headers={**api.headers, **JSON}))


def test_body_chunked_over_limit_is_413_before_the_key_is_checked(api: Api) -> None:
    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length.
    response = api.client.post("/jobs", content=_chunks(4 * LIMIT), headers=JSON)
    assert "content-length" not in response.request.headers
    _assert_413(response)
    response = api.client.post("/jobs", content=_chunks(4 * LIMIT), headers={**api.headers, **JSON})
    _assert_413(response)


def test_body_chunked_under_limit_is_read(api: Api) -> None:
    body = json.dumps(SPEC).encode() + b" " * (LIMIT - 1000)
    response = api.client.post(
        "/jobs", content=iter([body[:1000], body[1000:]]), headers={**api.headers, **JSON}
    )
    assert response.status_code == 201, response.text


def test_body_of_many_unknown_keys_gets_a_small_answer(api: Api) -> None:
    # Under the limit: a 422 naming the first fields and counting the rest.
    unknown = {f"k{i}": 0 for i in range(6000)}
    body = json.dumps({**SPEC, **unknown}, separators=(",", ":")).encode()
    assert len(body) < LIMIT
    response = api.client.post("/jobs", content=body, headers={**api.headers, **JSON})
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["fields"]) == MAX_FIELD_ERRORS
    assert error["fields"][0]["field"] == "k0"
    assert f"and {6000 - MAX_FIELD_ERRORS} more" in error["message"]
    assert len(response.content) < 5000
    # Over it (700 KB, 60,000 keys): a 413 of a few hundred bytes.
    big = json.dumps({**SPEC, **{f"k{i}": 0 for i in range(60_000)}}).encode()
    response = api.client.post("/jobs", content=big, headers={**api.headers, **JSON})
    _assert_413(response)
    assert len(response.content) < 500


async def _length(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


def test_body_route_limits_apply_per_method_and_template() -> None:
    # A plain Starlette app: the 413 comes from the middleware itself, not FastAPI's handlers.
    inner = Starlette(
        routes=[
            Route("/upload/{name}", _length, methods=["POST", "PUT"]),
            Route("/other", _length, methods=["POST"]),
        ]
    )
    app = BodyLimit(inner, default_bytes=1024, routes=[RouteLimit("POST", "/upload/{name}", 4096)])
    with TestClient(app) as client:
        assert client.post("/upload/a", content=_chunks(4000, 500)).json() == {"bytes": 4000}
        _assert_413(client.post("/upload/a", content=_chunks(4097, 500)))
        _assert_413(client.post("/upload/a", content=b" " * 4097))
        _assert_413(client.put("/upload/a", content=_chunks(2000, 500)))  # another method
        assert app.limit_for("POST", "/upload/a/b") == 1024  # another path
        _assert_413(client.post("/other", content=_chunks(2000, 500)))
        assert client.post("/other", content=_chunks(1024, 500)).json() == {"bytes": 1024}


def _stream_chunked(port: int, total: int, chunk: int = 64 * 1024) -> tuple[bytes, int, float]:
    """POST /jobs without a key, `total` bytes in chunks, until the API answers; returns the
    answer, the bytes sent and the seconds it took."""
    started = time.monotonic()
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /jobs HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        payload = f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n"
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered before the end of the body
                sock.sendall(payload)
                sent += chunk
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the API closed the connection after its answer
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent, time.monotonic() - started


@pytest.mark.slow
def test_body_chunked_50_mb_without_key_is_413_quickly_and_costs_no_memory(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    processes = Processes(tmp_path / "logs")
    try:
        proc, base = start_api(
            processes, {"DATABASE_URL": url, "BROKER_URL": f"filesystem://{tmp_path}/broker"}
        )
        port = int(base.rsplit(":", 1)[1])
        # Warm up the code paths, so that what grows afterwards is the body alone.
        for _ in range(3):
            answer, _sent, _took = _stream_chunked(port, 4 * LIMIT)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        before = rss_kib(proc.pid)
        answer, sent, took = _stream_chunked(port, 50 << 20)
        grown_mib = (rss_kib(proc.pid) - before) / 1024
        assert answer.startswith(b"HTTP/1.1 413"), (answer[:300], processes.diagnose())
        assert b'"too_large"' in answer
        assert sent < 10 << 20, sent  # it did not wait for the end of the body
        assert took < 5, took
        assert grown_mib < 3, grown_mib
    finally:
        processes.stop_all()
