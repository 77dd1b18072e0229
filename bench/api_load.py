"""Load benchmark of the API against its own floor, on the real stack (PostgreSQL + Redis).

    .venv/bin/python bench/api_load.py            # about two minutes on 2 cores
    .venv/bin/python bench/api_load.py --quick    # a smoke run

Starts two uvicorn servers (same options, one worker process each) on 127.0.0.1 against a fresh
PostgreSQL database: the API (`api.app:app`, broker on Redis) and the floor, a bare FastAPI app
defined below whose one endpoint reads one row (GET) or inserts one row (POST) through
SQLAlchemy with the same engine. The load generator is this process: a minimal HTTP/1.1
keep-alive client on asyncio (lighter than httpx, so that it takes less of the 2 cores from the
servers), a fixed number of requests per scenario. Prints a table; ends by itself, drops its
database and flushes the Redis database it used (no worker consumes the queued ids).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import HOST, uvicorn_server  # noqa: E402

REDIS_DB = 14
ENDPOINTS = ("GET /jobs/{id}", "POST /jobs")
BODY = json.dumps({"architecture": "resnet", "depth": 56, "epochs": 164}).encode()
METRICS = {  # an epoch's metrics, less its number (bench/events_latency.py records them too)
    "train_loss": 1.0,
    "train_accuracy": 0.6,
    "test_loss": 1.1,
    "test_accuracy": 0.55,
    "learning_rate": 0.1,
    "seconds": 14.0,
    "images_per_second": 3500.0,
}


# --- the floor: the least a FastAPI + SQLAlchemy endpoint on this database can cost -----------


def create_floor_app() -> Any:
    """The bare app: one read and one insert through SQLAlchemy, nothing else.

    Each endpoint opens and closes its session inside its one thread hop (no dependency, no
    response model), the least FastAPI can do per request; a session dependency held across
    FastAPI's thread hops deadlocks at 100 connections against the engine's 30-connection pool.
    """
    from fastapi import FastAPI

    from core.settings import get_settings
    from core.store.db import get_sessionmaker
    from core.store.tables import Job

    sessions = get_sessionmaker(get_settings().database_url)
    app = FastAPI()

    @app.get("/rows/{job_id}", response_model=None)
    def read(job_id: uuid.UUID) -> dict[str, Any]:
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return {"id": str(job.id), "status": job.status.value, "spec": job.spec}

    @app.post("/owners/{owner_id}/rows", status_code=201, response_model=None)
    def insert(owner_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        with sessions() as session:
            job = Job(owner_id=owner_id, spec=body)
            session.add(job)
            session.commit()
            return {"id": str(job.id)}

    @app.get("/ready", response_model=None)
    def ready() -> dict[str, str]:
        return {"ready": "yes"}

    return app


# --- the load generator -------------------------------------------------------------------------


@dataclass
class Target:
    port: int
    method: str
    paths: list[str]  # one per connection, used round-robin
    headers: list[dict[str, str]]  # likewise
    body: bytes | None


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 300)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def _request_bytes(target: Target, index: int) -> bytes:
    path = target.paths[index % len(target.paths)]
    headers = {"Host": f"{HOST}:{target.port}", **target.headers[index % len(target.headers)]}
    if target.body is not None:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(target.body))
    head = f"{target.method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode() + b"\r\n" + (target.body or b"")


async def _load(target: Target, connections: int, requests: int) -> Result:
    remaining = requests
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection(index: int) -> None:
        nonlocal remaining
        # Connection i takes owners i, i + connections, ...: every owner's queue grows alike.
        variants = max(len(target.paths), len(target.headers))
        cycle = [_request_bytes(target, j) for j in range(index % variants, variants, connections)]
        reader, writer = await asyncio.open_connection(HOST, target.port)
        try:
            sent = 0
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                writer.write(cycle[sent % len(cycle)])
                sent += 1
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(connections)))
    return Result(requests, time.perf_counter() - started, latencies, statuses)


def measure(target: Target, connections: int, requests: int, warmup: int) -> Result:
    asyncio.run(_load(target, connections, warmup))
    return asyncio.run(_load(target, connections, requests))


# --- the stack ----------------------------------------------------------------------------------


@contextmanager
def bench_database() -> Iterator[str]:
    import psycopg

    from core.store.migrate import upgrade

    name = f"crs_bench_{uuid.uuid4().hex[:10]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        from core.store.db import get_engine

        get_engine(url).dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, owners: int) -> tuple[list[str], list[uuid.UUID], uuid.UUID]:
    """Keys and ids of `owners` owners, and a running job of the first with 3 epochs recorded."""
    from api.schemas.request import JobRequest
    from core.store import jobs, keys, lifecycle
    from core.store.db import session_scope

    clear_keys, owner_ids = [], []
    with session_scope(url) as session:
        for index in range(owners):
            row, clear = keys.create_key(session=session, owner_name=f"bench-{index}")
            clear_keys.append(clear)
            owner_ids.append(row.owner_id)
    spec = JobRequest.model_validate(json.loads(BODY)).resolve()
    with session_scope(url) as session:
        job, _ = jobs.create_job(session=session, owner_id=owner_ids[0], spec=spec, max_queued=10)
        claim = lifecycle.claim_job(
            session=session, job_id=job.id, worker="bench", max_running_per_owner=10
        )
        assert isinstance(claim, lifecycle.Claim)
        for epoch in (1, 2, 3):
            lifecycle.save_progress(
                session=session,
                job_id=job.id,
                lease_id=claim.lease_id,
                checkpoint=b"c",
                epoch=epoch,
                batch=0,
                run_seconds=14.0 * epoch,
                metrics={"epoch": epoch, **METRICS},
            )
    return clear_keys, owner_ids, job.id


def server(
    app: list[str], port: int, env: dict[str, str], ready: str
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return uvicorn_server(port, env, app=app, ready=ready, what=f"server {app}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {model}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests first")
    parser.add_argument("--rounds", type=int, default=2, help="floor/API alternations; best kept")
    parser.add_argument("--quick", action="store_true", help="500 requests, for a smoke test")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[10, 100], help="concurrent connections"
    )
    parser.add_argument("--only", choices=["get", "post"], help="one endpoint only")
    args = parser.parse_args()
    args.load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine
    if args.quick:
        args.requests, args.warmup = 500, 100

    import redis

    broker = f"redis://{HOST}:6379/{REDIS_DB}"
    with bench_database() as url:
        owners = 100
        keys, owner_ids, job_id = seed(url, owners)
        env = {
            "DATABASE_URL": url,
            "BROKER_URL": broker,
            "MAX_QUEUED_PER_OWNER": str(10**9),  # no 429 whatever --requests is
        }
        api_port, floor_port = free_port(), free_port()
        floor_app = ["--app-dir", str(ROOT / "bench"), "--factory", "api_load:create_floor_app"]
        auths = [{"Authorization": f"Bearer {key}"} for key in keys]
        targets = {
            ("GET /jobs/{id}", "floor"): Target(floor_port, "GET", [f"/rows/{job_id}"], [{}], None),
            ("GET /jobs/{id}", "api"): Target(
                api_port, "GET", [f"/jobs/{job_id}"], [auths[0]], None
            ),
            ("POST /jobs", "floor"): Target(
                floor_port, "POST", [f"/owners/{o}/rows" for o in owner_ids], [{}], BODY
            ),
            ("POST /jobs", "api"): Target(api_port, "POST", ["/jobs"], auths, BODY),
        }
        results: dict[tuple[str, int, str], list[Result]] = {}
        endpoints = [e for e in ENDPOINTS if args.only is None or e.lower().startswith(args.only)]
        try:
            with (
                server(["api.app:app"], api_port, env, "/healthz"),
                server(floor_app, floor_port, env, "/ready"),
            ):
                for endpoint in endpoints:
                    for connections in args.connections:
                        for _ in range(args.rounds):
                            for side in ("floor", "api"):
                                result = measure(
                                    targets[(endpoint, side)],
                                    connections,
                                    args.requests,
                                    args.warmup,
                                )
                                results.setdefault((endpoint, connections, side), []).append(result)
                                print(
                                    f"{endpoint:15} {connections:3} conns {side:5}: "
                                    f"{result.throughput:7.0f} req/s  "
                                    f"p50 {result.percentile(0.5) * 1e3:6.1f} ms  "
                                    f"p99 {result.percentile(0.99) * 1e3:6.1f} ms  "
                                    f"statuses {result.statuses}",
                                    flush=True,
                                )
        finally:
            client = redis.Redis.from_url(broker)
            client.flushdb()
            client.close()
    report(results, args)


def report(results: dict[tuple[str, int, str], list[Result]], args: argparse.Namespace) -> None:
    def best(key: tuple[str, int, str]) -> Result:
        return max(results[key], key=lambda r: r.throughput)

    print()
    print(
        f"machine: {machine()}; load average before the run {args.load}; "
        f"{args.requests} requests per run after {args.warmup} warm-up, best of {args.rounds}"
    )
    print(
        "| endpoint | conns | floor req/s | API req/s | API/floor | floor p50 / p99 ms "
        "| API p50 / p99 ms | p99 API/floor |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for endpoint in ENDPOINTS:
        for connections in args.connections:
            if (endpoint, connections, "api") not in results:
                continue
            floor, api = (
                best((endpoint, connections, "floor")),
                best((endpoint, connections, "api")),
            )
            print(
                f"| `{endpoint}` | {connections} | {floor.throughput:.0f} | {api.throughput:.0f} "
                f"| {api.throughput / floor.throughput:.0%} "
                f"| {floor.percentile(0.5) * 1e3:.1f} / {floor.percentile(0.99) * 1e3:.1f} "
                f"| {api.percentile(0.5) * 1e3:.1f} / {api.percentile(0.99) * 1e3:.1f} "
                f"| {api.percentile(0.99) / floor.percentile(0.99):.2f}x |"
            )
    failures = sum(r.failures for runs in results.values() for r in runs)
    if failures:
        print(f"WARNING: {failures} responses had an unexpected status")


if __name__ == "__main__":
    main()
