"""Per-owner caps across API processes (issue 17): with a Redis broker, an owner's open event
streams and predictions at once are counted once for all API processes, and the slots of a
process that was killed come back when their leases expire (core/messaging/owner_leases.py).
Two live APIs under uvicorn on one Redis and one database."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from core.store.migrate import upgrade
from testkit.processes import Processes
from testkit.services import redis_url
from testkit.starters import start_api
from tests.api.conftest import SPEC, auth, new_key
from tests.api.exported import succeed_with_exports
from tests.api.test_predict_latency import image_file

TTL_S = 2.0
REDIS_DB = 12


@contextmanager
def stream(client: httpx.Client) -> Iterator[httpx.Response]:
    """`GET /events/stream` held open (its headers read) until the block ends."""
    with client.stream("GET", "/events/stream") as response:
        yield response


def status_of_one_more(client: httpx.Client) -> int:
    with stream(client) as response:
        return response.status_code


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, what
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.slow
def test_an_owners_caps_hold_across_api_processes_and_a_killed_ones_slots_expire(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    broker = redis_url(REDIS_DB)
    server = redis.Redis.from_url(broker)
    server.flushdb()
    key = new_key(url, "alice")
    env = {
        "DATABASE_URL": url,
        "BROKER_URL": broker,
        "MAX_STREAMS_PER_OWNER": "2",
        "PREDICT_MAX_CONCURRENT": "1",
        "OWNER_LEASE_TTL_S": str(TTL_S),
    }
    processes = Processes(tmp_path / "logs")
    try:
        api_a, base_a = start_api(processes, env, name="api-a")
        _api_b, base_b = start_api(processes, env, name="api-b")
        with ExitStack() as held:
            a = held.enter_context(httpx.Client(base_url=base_a, headers=auth(key), timeout=30))
            b = held.enter_context(httpx.Client(base_url=base_b, headers=auth(key), timeout=30))
            # Streams: one open on each process is the owner's cap of two.
            on_a = held.enter_context(stream(a))
            on_b = held.enter_context(stream(b))
            assert (on_a.status_code, on_b.status_code) == (200, 200)
            assert status_of_one_more(a) == 429
            assert status_of_one_more(b) == 429
            # Predictions: one running on A is the cap of one, on B too.
            created = a.post("/jobs", json=SPEC)
            assert created.status_code == 201, created.text
            job = uuid.UUID(created.json()["id"])
            succeed_with_exports(url, job)
            slow = [
                ("images", (f"{i}.png", image_file("PNG", 4096), "image/png")) for i in range(4)
            ]
            small: Files = [("images", ("0.png", image_file("PNG", 32), "image/png"))]
            assert b.post(f"/jobs/{job}/predict", files=small).status_code == 200  # pool started
            predictions = f"crs:leases:predict:{_owner_id(url)}"
            with httpx.Client(base_url=base_a, headers=auth(key), timeout=120) as c:
                running = held.enter_context(_in_background(c, f"/jobs/{job}/predict", slow))
                wait_until(lambda: server.zcard(predictions) == 1, 10, "A's prediction to start")
                refused = b.post(f"/jobs/{job}/predict", files=small)
                assert refused.status_code == 429, refused.text
                assert refused.headers["Retry-After"] == "1"
                assert running.result(timeout=120).status_code == 200
            wait_until(lambda: server.zcard(predictions) == 0, 5, "A's prediction slot back")
            assert b.post(f"/jobs/{job}/predict", files=small).status_code == 200
        # The streams closed (with the block): their slots are back, for either process.
        with ExitStack() as held:
            a = held.enter_context(httpx.Client(base_url=base_a, headers=auth(key), timeout=30))
            b = held.enter_context(httpx.Client(base_url=base_b, headers=auth(key), timeout=30))
            streams = f"crs:leases:streams:{_owner_id(url)}"
            wait_until(lambda: server.zcard(streams) == 0, 5, "the closed streams' slots back")
            assert held.enter_context(stream(a)).status_code == 200
            assert held.enter_context(stream(b)).status_code == 200
            assert status_of_one_more(b) == 429
            # A dies holding one: its lease is not renewed and expires, while B's renewals keep
            # the owner's set itself alive.
            api_a.send_signal(signal.SIGKILL)
            assert api_a.wait(10) == -signal.SIGKILL
            assert status_of_one_more(b) == 429  # not before they expire
            took = wait_until(
                lambda: status_of_one_more(b) == 200, 4 * TTL_S, "the dead process's slots back"
            )
            assert took <= 2 * TTL_S
    finally:
        processes.stop_all()
        server.flushdb()
        server.close()


def _owner_id(url: str) -> uuid.UUID:
    from sqlalchemy import select

    from core.store.db import session_scope
    from core.store.tables import Owner

    with session_scope(url) as session:
        return session.scalars(select(Owner.id).where(Owner.name == "alice")).one()


Files = list[tuple[str, tuple[str, bytes, str]]]


@contextmanager
def _in_background(
    client: httpx.Client, path: str, files: Files
) -> Iterator[Future[httpx.Response]]:
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(client.post, path, files=files)
