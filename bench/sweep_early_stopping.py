"""Early stopping and reuse in sweeps (issue 20): a random search over learning rate and weight
decay, run in full and with ASHA; the epochs each trains and the test error of the configuration
each selects on validation; then the full search sent again with `reuse`.

    .venv/bin/python bench/sweep_early_stopping.py [--trials 27] [--epochs 9]

A small data set: generated CIFAR-10 (testkit/cifar_files.py) of 1,000 training images (by
default), 100 of them held out for validation, and 500 test images; ResNet-8, batch 16, cosine
schedule, on the CPU. The sweeps are submitted to the API under uvicorn (SQLite, the filesystem
broker); their children are trained one at a time, in the sweep's order, by the worker's training
code in this process (`testkit.builders.train_in_process`: the worker's callbacks, ASHA decisions
included, without a training process's start-up per child).
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from api_load import free_port, machine  # noqa: E402
from events_latency import api_server  # noqa: E402

from bench.harness import HOST  # noqa: E402

VALIDATION = 100


def search(trials: int, epochs: int) -> dict[str, Any]:
    return {
        "base": {
            "architecture": "resnet",
            "depth": 8,
            "epochs": epochs,
            "batch_size": 16,
            "lr_schedule": "cosine",
            "validation_images": VALIDATION,
        },
        "search": {
            "learning_rate": {"log_uniform": [0.003, 1.0]},
            "weight_decay": {"log_uniform": [1e-5, 1e-2]},
        },
        "trials": trials,
        "search_seed": 0,
    }


def run_sweep(client: httpx.Client, settings: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Submit, train every child in order, and read the sweep and its report."""
    from testkit.builders import claim
    from testkit.builders import train_in_process as train

    answer = client.post("/sweeps", json=body)
    answer.raise_for_status()
    sweep = answer.json()
    started = time.perf_counter()
    for child in sweep["children"]:
        job_id = uuid.UUID(child["id"])
        train(job_id, claim(settings.database_url, job_id).lease_id, settings)
    seconds = time.perf_counter() - started
    view = client.get(f"/sweeps/{sweep['id']}").json()
    report = client.get(f"/sweeps/{sweep['id']}/report").json()
    return {"view": view, "report": report, "seconds": seconds}


def summary(name: str, result: dict[str, Any], test_images: int) -> dict[str, Any]:
    view, report = result["view"], result["report"]
    chosen = report["selection"]["on_validation"]
    error = chosen["test_error"]["mean"]
    p = error / 100
    return {
        "name": name,
        "epochs": sum(child["epochs_done"] for child in view["children"]),
        "counts": view["counts"],
        "configuration": chosen["configuration"],
        "validation_error": chosen["validation_error"]["mean"],
        "test_error": error,
        # One standard deviation of a test error measured on `test_images` images (binomial).
        "test_error_sd": 100 * math.sqrt(p * (1 - p) / test_images),
        "optimistic_test_error": report["selection"]["on_test_set"]["test_error"]["mean"],
        "seconds": result["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=27)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--train-per-class", type=int, default=100, help="generated images")
    parser.add_argument("--test-per-class", type=int, default=50, help="generated images")
    args = parser.parse_args()
    import torch

    from core.store import keys
    from core.store.db import session_scope
    from core.store.migrate import upgrade
    from testkit.builders import make_settings
    from testkit.cifar_files import write_cifar10

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="bench-asha-") as folder:
        root = Path(folder)
        write_cifar10(
            root / "data",
            train_per_class=args.train_per_class,
            test_per_class=args.test_per_class,
            seed=5,
        )
        url = f"sqlite:///{root / 'service.db'}"
        upgrade(url)
        with session_scope(url) as session:
            _row, key = keys.create_key(session=session, owner_name="bench")
        settings = make_settings(url, root / "data")
        port = free_port()
        env = {
            "DATABASE_URL": url,
            "BROKER_URL": f"filesystem://{root / 'broker'}",
            "MAX_QUEUED_PER_OWNER": "1000",
        }
        with (
            api_server(port, env),
            httpx.Client(
                base_url=f"http://{HOST}:{port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            ) as client,
        ):
            print(f"machine: {machine()}; date: {datetime.date.today()}", flush=True)
            print(
                f"{args.trials} trials x {args.epochs} epochs, ResNet-8, "
                f"{10 * args.train_per_class - VALIDATION} training / {VALIDATION} validation / "
                f"{10 * args.test_per_class} test images",
                flush=True,
            )
            print(
                "| search | epochs trained | share | selected on validation | its validation "
                "error | its test error (± 1 sd) | test-selected (optimistic) | children | time |"
            )
            print("| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: |", flush=True)
            body = search(args.trials, args.epochs)
            full = summary(
                "full search", run_sweep(client, settings, body), 10 * args.test_per_class
            )
            print_row(full, full)
            started = time.perf_counter()
            again = client.post("/sweeps", json={**body, "reuse": True})
            reuse_seconds = time.perf_counter() - started
            again.raise_for_status()
            counts = again.json()["counts"]
            print(
                f"full search sent again with reuse: {reuse_seconds * 1000:.0f} ms, "
                f"children {counts}",
                flush=True,
            )
            early = {"rule": "asha", "grace_epochs": 1, "reduction_factor": 3}
            asha = summary(
                "ASHA",
                run_sweep(client, settings, {**body, "early_stopping": early}),
                10 * args.test_per_class,
            )
            print_row(asha, full)


def print_row(row: dict[str, Any], full: dict[str, Any]) -> None:
    share = row["epochs"] / full["epochs"]
    chosen = ", ".join(f"{k}={v:.3g}" for k, v in row["configuration"].items())
    print(
        f"| {row['name']} | {row['epochs']} | {share:.0%} | {chosen} | "
        f"{row['validation_error']:.2f} % | {row['test_error']:.2f} ± "
        f"{row['test_error_sd']:.2f} % | {row['optimistic_test_error']:.2f} % | "
        f"{row['counts']} | {row['seconds']:.0f} s |",
        flush=True,
    )


if __name__ == "__main__":
    main()
