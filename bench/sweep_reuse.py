"""Re-submitting a finished sweep with `reuse` (issue 20; goal: every child reused, answered in
under 1 s), without training: the first sweep's children are finished through the store's own
functions, with files of a real run's sizes.

    .venv/bin/python bench/sweep_reuse.py [--database postgresql|sqlite] [--trials 27]
        [--depth 8] [--epochs 9] [--rounds 5] [--profile]

Starts a redis-server of its own, a fresh database (a new one on the local PostgreSQL server, or
a SQLite file) with the migrations applied, and the API under uvicorn. It posts the random search
of bench/sweep_early_stopping.py (27 trials: 27 children), then plays the worker for every
child: claim, the attempt's environment, one checkpoint and metrics record per epoch, the
safetensors, ONNX and report files, then the weights (random bytes of the sizes a ResNet-`depth`
gives: 4 bytes per parameter for each weights file, twice that for a checkpoint with SGD's
momentum). Each round then posts the same search with `"reuse": true`; its time is the client's
wall time until the answer, and every child must come back succeeded from its earlier run.
`--profile` adds a round in this process (the API's own submission function, the same broker):
the SQL statements it sent, their time by verb and table, and the time of each part (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    HOST,
    METRICS,
    bench_database,
    machine,
    redis_server,
    uvicorn_server,
)
from testkit.processes import free_port  # noqa: E402

FILES = {"cifar-10-batches-py/data_batch_1": "a" * 64, "cifar-10-batches-py/test_batch": "b" * 64}
ENVIRONMENT = {"dataset_sha256": FILES, "service_version": "bench", "torch": "bench", "device": "x"}
# What the profile names, in the order a submission calls them.
PARTS = (
    "checked_sweep",
    "create_sweep",
    "find_sources",
    "settle_from",
    "settle_reusable",
    "settle_all",
)


def search(trials: int, epochs: int, depth: int) -> dict[str, Any]:
    """bench/sweep_early_stopping.py's search, at `depth`."""
    return {
        "base": {
            "architecture": "resnet",
            "depth": depth,
            "epochs": epochs,
            "batch_size": 16,
            "lr_schedule": "cosine",
            "validation_images": 100,
        },
        "search": {
            "learning_rate": {"log_uniform": [0.003, 1.0]},
            "weight_decay": {"log_uniform": [1e-5, 1e-2]},
        },
        "trials": trials,
        "search_seed": 0,
    }


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        with bench_database() as url:
            yield url
        return
    from core.store.migrate import upgrade

    with TemporaryDirectory(prefix="crs-bench-reuse-") as folder:
        url = f"sqlite:///{Path(folder) / 'service.db'}"
        upgrade(url)
        yield url


def finish(url: str, job_id: uuid.UUID, epochs: int, weights_bytes: int) -> None:
    """Run the job to success as a worker would, with files of a real run's sizes."""
    import hashlib

    from core.store import artifacts, attempts, lifecycle
    from core.store.db import session_scope
    from testkit.builders import claim

    held = claim(url, job_id, worker="bench")
    weights = os.urandom(weights_bytes)
    with session_scope(url) as session:
        attempts.record_attempt(
            session=session, job_id=job_id, lease_id=held.lease_id, environment=ENVIRONMENT
        )
        for epoch in range(1, epochs + 1):
            lifecycle.save_progress(
                session=session,
                job_id=job_id,
                lease_id=held.lease_id,
                checkpoint=os.urandom(2 * weights_bytes),
                epoch=epoch,
                batch=0,
                run_seconds=float(epoch),
                metrics={
                    "epoch": epoch,
                    **METRICS,
                    "validation_loss": 1.2,
                    "validation_accuracy": 0.5,
                },
            )
        files = {
            artifacts.SAFETENSORS: artifacts.ArtifactFile(os.urandom(weights_bytes)),
            artifacts.ONNX: artifacts.ArtifactFile(os.urandom(weights_bytes), {"checked": True}),
            artifacts.REPORT: artifacts.ArtifactFile(b"{}" + b" " * 4000),
        }
        artifacts.save_artifacts(
            session=session, job_id=job_id, lease_id=held.lease_id, files=files
        )
        lifecycle.finish_job(
            session=session,
            job_id=job_id,
            lease_id=held.lease_id,
            weights=weights,
            sha256=hashlib.sha256(weights).hexdigest(),
            run_seconds=float(epochs),
            final_test_accuracy=0.55,
            final_test_loss=1.1,
            best_test_accuracy=0.55,
            best_epoch=epochs,
            results={"per_class_accuracy": [0.55] * 10, "confusion": [[5] * 10] * 10},
        )


def profile(url: str, redis_url: str, body: dict[str, Any], key: str) -> None:
    """One more reuse round in this process: statements sent, and each part's time."""
    from sqlalchemy import event

    from api.schemas.sweeps import SweepRequest
    from api.submission.job_queue import JobQueue
    from api.submission.sweep_submission import _submit
    from core.settings import Settings
    from core.store.db import get_engine, get_sessionmaker, session_scope
    from core.store.keys import authenticate

    settings = Settings(_env_file=None, database_url=url, broker_url=redis_url)  # type: ignore[call-arg]
    with session_scope(url) as session:
        owner = authenticate(session=session, key=key)
        assert owner is not None
        session.expunge(owner)
    statements: list[str] = []
    spent: dict[str, float] = {}
    clock: list[float] = []

    def count(*args: Any) -> None:
        statements.append(args[2].split(None, 1)[0].upper())
        clock.append(time.perf_counter())

    def done(*args: Any) -> None:
        """The statement's time, summed by its verb and first table (`INSERT artifacts`)."""
        words = args[2].split()
        table = next(
            (w for i, w in enumerate(words) if words[i - 1] in ("INTO", "FROM", "UPDATE")), ""
        )
        name = f"{words[0]} {table}"
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - clock[-1]

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "after_cursor_execute", done)
    request = SweepRequest.model_validate({**body, "reuse": True})
    queue = JobQueue(settings)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    sweep, created = _submit(get_sessionmaker(url), settings, queue, owner, request, None)
    profiler.disable()
    seconds = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    event.remove(engine, "after_cursor_execute", done)
    assert created, sweep
    for name, total in sorted(spent.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  SQL {name}: {total * 1000:.0f} ms")
    kinds = {kind: statements.count(kind) for kind in sorted(set(statements))}
    print(
        f"in process (no HTTP, no response): {seconds * 1000:.0f} ms, {len(statements)} "
        f"statements {kinds}"
    )
    stats = pstats.Stats(profiler)
    for (path, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name in PARTS and ("api/" in path or "core/" in path):
            calls, total = row[1], row[3]
            print(f"  {name}: {total * 1000:.0f} ms ({calls} calls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--trials", type=int, default=27)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from core.architecture import parameter_count
    from core.store.db import session_scope
    from core.store.keys import create_key

    weights_bytes = 4 * parameter_count(args.depth)
    body = search(args.trials, args.epochs, args.depth)
    with database(args.database) as url, redis_server() as redis_url:
        with session_scope(url) as session:
            _row, key = create_key(session=session, owner_name="bench")
        port = free_port()
        env = {"DATABASE_URL": url, "BROKER_URL": redis_url, "MAX_QUEUED_PER_OWNER": "100000"}
        with (
            uvicorn_server(port, env, stop_timeout=15),
            httpx.Client(
                base_url=f"http://{HOST}:{port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            ) as client,
        ):
            first = client.post("/sweeps", json=body)
            assert first.status_code == 201, first.text
            started = time.perf_counter()
            for child in first.json()["children"]:
                finish(url, uuid.UUID(child["id"]), args.epochs, weights_bytes)
            print(
                f"machine: {machine()}; {datetime.datetime.now(datetime.UTC):%F %T} UTC; "
                f"{args.database}; {args.trials} children of ResNet-{args.depth}, "
                f"{args.epochs} epochs, files of {weights_bytes / 1e6:.2f} MB finished in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            times, loads = [], []
            for _ in range(args.rounds):
                loads.append(os.getloadavg()[0])
                started = time.perf_counter()
                again = client.post("/sweeps", json={**body, "reuse": True})
                times.append(time.perf_counter() - started)
                assert again.status_code == 201, again.text
                children = again.json()["children"]
                # Nothing trains here: a succeeded child is a reused one.
                reused = [c for c in children if c["status"] == "succeeded"]
                assert len(reused) == args.trials, again.json()["counts"]
            milliseconds = ", ".join(f"{t * 1000:.0f}" for t in times)
            print(
                f"re-submitted with reuse, every child reused: median "
                f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                f"({milliseconds}); load average {min(loads):.1f}-{max(loads):.1f}",
                flush=True,
            )
        if args.profile:
            profile(url, redis_url, body, key)


if __name__ == "__main__":
    main()
