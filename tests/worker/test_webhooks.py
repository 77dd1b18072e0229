"""One webhook attempt (`worker.webhook_delivery.deliver`, the task's body) against a real
receiver on 127.0.0.1: which answers are retried, and the address check again at delivery time."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from core.store import jobs, keys
from core.store.db import session_scope
from core.store.webhook_deliveries import job_deliveries
from testkit.builders import SPEC, make_settings
from testkit.processes import free_port
from worker.pinned_address import pinned_request
from worker.webhook_delivery import deliver, pause_after


class _Answer(BaseHTTPRequestHandler):
    code = 200
    hits = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).hits += 1
        self.send_response(type(self).code)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Answer]]]:
    handler = type("Answer", (_Answer,), {"code": 200, "hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def _delivery(settings: Settings, url: str) -> tuple[uuid.UUID, int]:
    """A job whose webhook takes every status event: its `queued` event is one delivery."""
    with session_scope(settings.database_url) as session:
        owner_id = keys.get_or_create_owner(session=session, name="alice").id
        session.commit()
        job, _ = jobs.create_job(
            session=session,
            owner_id=owner_id,
            spec=SPEC,
            max_queued=10,
            webhook_url=url,
            webhook_events=["status"],
        )
        [(delivery, event_type, _)] = job_deliveries(session=session, job_id=job.id)
        assert event_type == "status"
        return job.id, delivery.id


def _state(
    settings: Settings, job_id: uuid.UUID
) -> tuple[str, list[tuple[int | None, str | None]]]:
    with session_scope(settings.database_url) as session:
        [(delivery, _, attempts)] = job_deliveries(session=session, job_id=job_id)
        return delivery.state, [(a.status_code, a.error) for a in attempts]


def test_private_address_refused_at_delivery(
    database_url: str, tmp_path: Path, receiver: tuple[str, type[_Answer]]
) -> None:
    url, handler = receiver
    settings = make_settings(database_url, tmp_path, allow_http_webhooks=True)
    job_id, delivery_id = _delivery(settings, url)  # stored as if allowed at submission
    scheduled: list[tuple[int, float]] = []
    deliver(delivery_id, settings, lambda *args: scheduled.append(args))
    state, attempts = _state(settings, job_id)
    assert state == "failed" and handler.hits == 0 and not scheduled
    [(code, error)] = attempts
    assert code is None and error is not None and "127.0.0.1" in error and "private" in error


@pytest.mark.parametrize(("code", "retried"), [(404, False), (429, True), (503, True)])
def test_client_errors_end_server_errors_retry(
    database_url: str,
    tmp_path: Path,
    receiver: tuple[str, type[_Answer]],
    code: int,
    retried: bool,
) -> None:
    url, handler = receiver
    handler.code = code
    settings = make_settings(
        database_url, tmp_path, allow_http_webhooks=True, allow_private_webhooks=True
    )
    job_id, delivery_id = _delivery(settings, url)
    scheduled: list[tuple[int, float]] = []
    deliver(delivery_id, settings, lambda *args: scheduled.append(args))
    state, attempts = _state(settings, job_id)
    assert attempts == [(code, None)] and handler.hits == 1
    if retried:
        assert state == "pending"
        [(again, countdown)] = scheduled
        assert again == delivery_id and 0 < countdown <= settings.webhook_retry_first_s
    else:
        assert state == "failed" and not scheduled
    # A second copy of the message now: ended, or early for the next try; nothing is sent.
    deliver(delivery_id, settings, lambda *args: None)
    assert handler.hits == 1 and len(_state(settings, job_id)[1]) == 1


def test_back_off_doubles_to_an_hour_for_over_a_day(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", tmp_path)
    pauses = [pause_after(n, settings) for n in range(1, 40)]
    assert pauses[:4] == [10.0, 20.0, 40.0, 80.0] and max(pauses) == 3600.0
    assert settings.webhook_retry_for_s >= 24 * 3600


def test_delivery_connects_to_the_address_it_checked(
    database_url: str,
    tmp_path: Path,
    receiver: tuple[str, type[_Answer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding (issue 17): a name that answers a public address to the check and then
    127.0.0.1 must not be delivered to loopback."""
    url, handler = receiver
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    settings = make_settings(
        database_url, tmp_path, allow_http_webhooks=True, webhook_timeout_s=1.0
    )
    job_id, delivery_id = _delivery(settings, f"http://rebind.test:{port}/hook")
    real = socket.getaddrinfo
    answers = iter(["192.0.43.10"])  # a public address (IANA), then loopback for ever after

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    deliver(delivery_id, settings, lambda *args: None)
    _state_now, attempts = _state(settings, job_id)
    assert handler.hits == 0  # nothing reached 127.0.0.1
    [(code, error)] = attempts
    assert code is None and error is not None


def test_pinned_request_keeps_the_name_for_host_and_sni() -> None:
    import ipaddress

    url, pinned = pinned_request(
        "https://hooks.example.com:8443/a?b=1", ipaddress.ip_address("2606:4700::1111")
    )
    assert url == "https://[2606:4700::1111]:8443/a?b=1"
    assert pinned.headers == {"host": "hooks.example.com:8443"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.com"}
