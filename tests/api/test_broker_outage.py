"""A broker outage costs submissions a fast 503 and costs reads nothing: no request holds a
database connection while it calls the broker (api/submission/job_submission.py,
core/messaging/producer.py).

Before that fix, 50 submissions against a stopped Redis held the pool and the reads' p99 went
from tens of milliseconds to about 2 s on the development machine."""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from core.store import keys
from core.store.db import session_scope
from core.store.migrate import upgrade
from core.store.tables import Job
from testkit.processes import Processes
from testkit.servers import RedisServer
from testkit.services import fresh_postgres_database
from testkit.starters import start_api
from tests.api.conftest import SPEC, auth

BURST = 50
Result = tuple[list[float], list[int]]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


def _read_while(base: str, headers: dict[str, str], path: str, running: EventType) -> Result:
    """GET `path` back to back until `running` clears: latencies (s) and statuses. Run in a
    process of its own, so that the burst's client work does not slow down this measurement."""
    latencies, statuses = [], []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        client.get(path)  # the connection is open before the clock starts
        while running.is_set() or len(latencies) < 20:
            started = time.perf_counter()
            response = client.get(path)
            latencies.append(time.perf_counter() - started)
            statuses.append(response.status_code)
    return latencies, statuses


def _reads_during(
    base: str, headers: dict[str, str], path: str, action: Callable[[], object]
) -> Result:
    """Read `path` back to back in a process of its own while `action` runs here."""
    context = multiprocessing.get_context("fork")
    running = context.Event()
    running.set()
    results, sink = context.Pipe(duplex=False)
    reader = context.Process(target=lambda: sink.send(_read_while(base, headers, path, running)))
    reader.start()
    try:
        time.sleep(0.5)  # the reader is under way
        action()
    finally:
        running.clear()
    assert results.poll(60), "the reader did not finish"
    found: Result = results.recv()
    reader.join(10)
    return found


def _p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)


async def _burst(base: str, headers: dict[str, str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=BURST)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as c:
        return await asyncio.gather(*(c.post("/jobs", json=SPEC) for _ in range(BURST)))


@pytest.mark.slow
def test_broker_down_50_submissions_get_503_while_reads_stay_fast(
    tmp_path: Path, postgres_url: str
) -> None:
    with session_scope(postgres_url) as session:
        _row, key = keys.create_key(session=session, owner_name="alice")
    headers = auth(key)
    processes = Processes(tmp_path / "logs")
    try:
        redis = RedisServer(processes, tmp_path / "redis")
        redis.start()
        _proc, base = start_api(
            processes, {"DATABASE_URL": postgres_url, "BROKER_URL": redis.url()}
        )
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            created = client.post("/jobs", json=SPEC)
            assert created.status_code == 201, created.text
        job_path = f"/jobs/{created.json()['id']}"
        # The same reads with nothing else going on: what this machine's noise alone costs.
        quiet, _statuses = _reads_during(base, headers, job_path, lambda: time.sleep(2))
        redis.stop()
        answers: list[httpx.Response] = []
        started = time.monotonic()
        latencies, statuses = _reads_during(
            base, headers, job_path, lambda: answers.extend(asyncio.run(_burst(base, headers)))
        )
        burst_s = time.monotonic() - started
    finally:
        processes.stop_all()

    assert [a.status_code for a in answers] == [503] * BURST, [a.text for a in answers][:3]
    for answer in answers:
        assert answer.json()["error"]["code"] == "queue_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    assert set(statuses) == {200}
    # 200 ms, unless the machine is so busy that reads with nothing else going on already take
    # a third of that (a shared CI runner): then three times what they took.
    bar = max(0.2, 3 * _p99(quiet))
    p99 = _p99(latencies)
    assert p99 < bar, (
        f"p99 {p99 * 1000:.0f} ms over {len(latencies)} reads during a {burst_s:.1f} s burst; "
        f"{_p99(quiet) * 1000:.0f} ms before it"
    )
    with session_scope(postgres_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1  # the first job only
