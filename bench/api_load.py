"""Load benchmark of the API against its own floor, on the real stack (PostgreSQL + Redis).

    .venv/bin/python bench/api_load.py            # about two minutes on 2 cores
    .venv/bin/python bench/api_load.py --quick    # a smoke run

Starts two uvicorn servers (same options, one worker process each) on 127.0.0.1 against a fresh
PostgreSQL database: the API (`api.app:app`, broker on Redis) and the floor, a bare FastAPI app
defined below whose one endpoint reads one row (GET) or inserts one row (POST) through
SQLAlchemy with the same engine. The load generator is this process (bench/http_load.py): a
minimal HTTP/1.1 keep-alive client on asyncio (lighter than httpx, so that it takes less of the
2 cores from the servers), a fixed number of requests per scenario. Prints a table; ends by
itself, drops its database and flushes the Redis database it used (no worker consumes the
queued ids).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    HOST,
    METRICS,
    bench_database,
    machine,
    uvicorn_server,
)
from bench.http_load import Result, Target, measure  # noqa: E402
from testkit.processes import free_port  # noqa: E402

REDIS_DB = 14
ENDPOINTS = ("GET /jobs/{id}", "POST /jobs")
BODY = json.dumps({"architecture": "resnet", "depth": 56, "epochs": 164}).encode()


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


# --- the stack ----------------------------------------------------------------------------------


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
