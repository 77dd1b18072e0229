"""How long POST /sweeps takes to accept a 256-child sweep on the real stack (issue 10; goal:
under 1 s), against the reference of submitting the same 256 jobs one POST /jobs at a time.

    .venv/bin/python bench/sweep_submit.py [--children 256] [--rounds 5]

Starts its own redis-server on a free port, a fresh PostgreSQL database on the local server and
one API process (uvicorn). Each round posts a sweep whose grid is `seed: 0..children-1`, then
the same jobs one by one; the time of each is the client's wall time until the answer.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import HOST, bench_database, machine, redis_server, uvicorn_server  # noqa: E402
from testkit.processes import free_port  # noqa: E402

BASE = {"architecture": "resnet", "depth": 20, "epochs": 164}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from core.store import keys
    from core.store.db import session_scope

    with bench_database() as url, redis_server() as redis_url:
        with session_scope(url) as session:
            _row, key = keys.create_key(session=session, owner_name="bench")
        port = free_port()
        env = {
            "DATABASE_URL": url,
            "BROKER_URL": redis_url,
            "MAX_QUEUED_PER_OWNER": str(10 * args.children * args.rounds),
        }
        with (
            uvicorn_server(port, env, stop_timeout=15),
            httpx.Client(
                base_url=f"http://{HOST}:{port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            ) as client,
        ):
            body = {"base": BASE, "grid": {"seed": list(range(args.children))}}
            client.post("/sweeps", json={"base": BASE, "seeds": 2}).raise_for_status()  # warm
            sweep_s, single_s = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                response = client.post("/sweeps", json=body)
                sweep_s.append(time.perf_counter() - started)
                response.raise_for_status()
                assert response.json()["progress"]["total"] == args.children
                started = time.perf_counter()
                for seed in range(args.children):
                    client.post("/jobs", json={**BASE, "seed": seed}).raise_for_status()
                single_s.append(time.perf_counter() - started)
    sweep, single = statistics.median(sweep_s), statistics.median(single_s)
    print(f"machine: {machine()}; {datetime.date.today()}")
    print(f"{args.children}-child sweep accepted: median {sweep:.3f} s, max {max(sweep_s):.3f} s")
    print(f"{args.children} single POST /jobs: median {single:.3f} s")
    print(f"sweep / singles: {sweep / single:.2f}x the time")


if __name__ == "__main__":
    main()
