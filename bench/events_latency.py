"""Live events on the real stack (PostgreSQL + Redis, issue 8): how fast an epoch event reaches an
SSE client, and what 500 open streams cost the API process.

    .venv/bin/python bench/events_latency.py            # about two minutes on 2 cores
    .venv/bin/python bench/events_latency.py --quick    # a smoke run

Starts its own redis-server on a free port, a fresh PostgreSQL database on the local server and
one API process (uvicorn, one worker). This process plays the worker: it claims jobs through the
store and commits epoch events with `core.store.lifecycle.save_progress`, with the worker's
commit listener (`core.messaging.event_channel.EventPublisher`, Redis pub/sub) installed,
exactly as a training process does.

1. Latency: an SSE client (httpx-sse, in a thread of this process) follows a running job while
   this process commits `--events` epoch events `--interval` s apart; each event's latency is
   the time from the end of its commit (an after-commit listener registered before the
   publisher) to its arrival at the client, both read from one monotonic clock.
2. Streams: GET /jobs/{id} throughput (the load generator of bench/http_load.py,
   `--connections` keep-alive connections) with no stream open, then with `--streams` streams open
   on as many running jobs (one asyncio client here), then with none again; and the API process's
   resident memory (VmRSS) before and after opening them. With `--progress-hz`, every one of those
   jobs also reports progress that often (Redis pub/sub, as training processes do), so the API
   forwards that many messages per stream per second during the measurement.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.event_streams import ProgressReports, Streams  # noqa: E402
from bench.harness import (  # noqa: E402
    HOST,
    METRICS,
    bench_database,
    machine,
    redis_server,
    uvicorn_server,
)
from bench.http_load import Target, measure  # noqa: E402
from testkit.processes import free_port  # noqa: E402
from testkit.procfs import rss_kib  # noqa: E402

SPEC = {"architecture": "resnet", "depth": 20, "epochs": 164}


def seed(url: str, jobs_running: int) -> tuple[str, list[uuid.UUID]]:
    """An owner's key and `jobs_running` of its jobs, claimed (running)."""
    from core.store import jobs, keys, lifecycle
    from core.store.db import session_scope

    with session_scope(url) as session:
        row, key = keys.create_key(session=session, owner_name="bench")
        owner_id = row.owner_id
    ids = []
    with session_scope(url) as session:
        for _ in range(jobs_running):
            job, _ = jobs.create_job(
                session=session, owner_id=owner_id, spec=SPEC, max_queued=10**9
            )
            claim = lifecycle.claim_job(
                session=session, job_id=job.id, worker="bench", max_running_per_owner=10**9
            )
            assert isinstance(claim, lifecycle.Claim)
            ids.append(job.id)
    return key, ids


# --- 1. latency from commit to client -----------------------------------------------------------


def latency(
    url: str, base: str, key: str, events: int, interval: float, publisher: Any
) -> list[float]:
    """Seconds from the commit of each of `events` epoch events to its arrival at an SSE client."""
    import httpx
    from httpx_sse import connect_sse

    from core.store import lifecycle
    from core.store.db import session_scope
    from core.store.events import add_commit_listener, remove_commit_listener

    job_id = seed_one(url, key)
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    ready = threading.Event()

    def follow() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        timeout = httpx.Timeout(10.0, read=60.0)
        with (
            httpx.Client(timeout=timeout) as client,
            connect_sse(
                client, "GET", f"{base}/jobs/{job_id}/events/stream", headers=headers
            ) as source,
        ):
            for sse in source.iter_sse():
                now = time.perf_counter()
                if sse.event == "attempt":
                    ready.set()  # the stored events are through: live ones come next
                if sse.event == "epoch":
                    arrived[json.loads(sse.data)["data"]["epoch"]] = now
                    if len(arrived) == events:
                        return

    def stamp(batch: Any) -> None:
        for message in batch.events:
            if message["type"] == "epoch":
                committed[message["data"]["epoch"]] = time.perf_counter()

    client = threading.Thread(target=follow, daemon=True)
    client.start()
    ready.wait(30)
    time.sleep(1.0)  # the hub's subscription is up
    claim = _claim_of(url, job_id)
    # The stamp first: the time is taken as the commit returns, before the publisher runs.
    add_commit_listener(stamp)
    add_commit_listener(publisher)
    try:
        with session_scope(url) as session:
            for epoch in range(1, events + 1):
                lifecycle.save_progress(
                    session=session,
                    job_id=job_id,
                    lease_id=claim,
                    checkpoint=b"c",
                    epoch=epoch,
                    batch=0,
                    run_seconds=float(epoch),
                    metrics={"epoch": epoch, **METRICS},
                )
                time.sleep(interval)
    finally:
        remove_commit_listener(stamp)
        remove_commit_listener(publisher)
    client.join(30)
    missing = [e for e in committed if e not in arrived]
    if missing:
        raise RuntimeError(f"epoch events never reached the client: {missing[:10]}")
    return [arrived[e] - committed[e] for e in sorted(committed)]


def seed_one(url: str, key: str) -> uuid.UUID:
    from core.store import jobs, keys, lifecycle
    from core.store.db import session_scope

    with session_scope(url) as session:
        owner = keys.authenticate(session=session, key=key)
        assert owner is not None
        job, _ = jobs.create_job(session=session, owner_id=owner.id, spec=SPEC, max_queued=10**9)
        claim = lifecycle.claim_job(
            session=session, job_id=job.id, worker="bench", max_running_per_owner=10**9
        )
        assert isinstance(claim, lifecycle.Claim)
        return job.id


def _claim_of(url: str, job_id: uuid.UUID) -> uuid.UUID:
    from core.store.db import session_scope
    from core.store.tables import Job

    with session_scope(url) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.lease_id is not None
        return job.lease_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100, help="epoch events timed")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between them")
    parser.add_argument("--streams", type=int, default=500, help="streams held open")
    parser.add_argument("--requests", type=int, default=3000, help="GET requests per measurement")
    parser.add_argument("--connections", type=int, default=10, help="for the GET load")
    parser.add_argument("--progress-hz", type=float, default=0.0, help="progress per job per s")
    parser.add_argument("--rounds", type=int, default=5, help="without/with/without rounds")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.events, args.streams, args.requests, args.rounds = 50, 100, 500, 1
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    from core.messaging.event_channel import event_publisher
    from core.settings import Settings

    with bench_database() as url, redis_server() as redis_url:
        env = {"DATABASE_URL": url, "BROKER_URL": redis_url, "MAX_RUNNING_PER_OWNER": "1000000"}
        publisher = event_publisher(Settings(_env_file=None, broker_url=redis_url))  # type: ignore[call-arg]
        assert publisher is not None
        key, running = seed(url, args.streams)
        port = free_port()
        with uvicorn_server(port, env, stop_timeout=15) as api:
            base = f"http://{HOST}:{port}"
            delays = latency(url, base, key, args.events, args.interval, publisher)
            ordered = sorted(delays)
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            print(
                f"latency commit -> SSE client over {len(delays)} epoch events: median "
                f"{statistics.median(delays) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
                f"max {max(delays) * 1e3:.1f} ms",
                flush=True,
            )

            target = Target(
                port, "GET", [f"/jobs/{running[0]}"], [{"Authorization": f"Bearer {key}"}], None
            )
            warm = args.requests // 5
            ratios, per_stream = [], []
            for round_ in range(1, args.rounds + 1):
                before = measure(target, args.connections, args.requests, warm)
                rss_before = rss_kib(api.pid)
                streams = Streams(port, key, running)
                streams.start()
                time.sleep(2.0)
                rss_open = rss_kib(api.pid)
                with ProgressReports(redis_url, running, args.progress_hz) as reports:
                    during = measure(target, args.connections, args.requests, warm)
                streams.close()
                time.sleep(1.0)
                after = measure(target, args.connections, args.requests, warm)
                baseline = (before.throughput + after.throughput) / 2
                ratios.append(during.throughput / baseline)
                per_stream.append((rss_open - rss_before) / max(streams.open, 1))
                extra = f", {reports.sent} progress reports" if args.progress_hz else ""
                print(
                    f"round {round_}: GET /jobs/{{id}} ({args.connections} connections): "
                    f"{before.throughput:.0f} and {after.throughput:.0f} req/s without streams, "
                    f"{during.throughput:.0f} req/s with {streams.open} open = "
                    f"{ratios[-1]:.0%} (p50 {during.percentile(0.5) * 1e3:.1f} ms, "
                    f"p99 {during.percentile(0.99) * 1e3:.1f} ms, statuses {during.statuses}); "
                    f"{streams.received} stream bytes{extra}; API memory {rss_before} -> "
                    f"{rss_open} KiB = {per_stream[-1]:.1f} KiB per stream",
                    flush=True,
                )
            # Memory: the first round's growth; later rounds reuse what the closed streams freed.
            print(
                f"median over {args.rounds} rounds: throughput with {args.streams} streams "
                f"{statistics.median(ratios):.0%} of without (rounds: "
                f"{', '.join(f'{r:.0%}' for r in ratios)}); memory growth "
                f"{per_stream[0]:.1f} KiB per stream",
                flush=True,
            )
    print(
        f"machine: {machine()}; load average before: {load}; "
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    )


if __name__ == "__main__":
    main()
