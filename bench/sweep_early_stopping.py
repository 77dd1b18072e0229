"""Early stopping and reuse in sweeps (issue 20): a random search over learning rate and weight
decay, run live through the service in full and with ASHA; the epochs each trains, the test
error of the configuration each selects on validation, and the full search sent again with
`reuse`.

    .venv/bin/python bench/sweep_early_stopping.py [--trials 27] [--epochs 9]

The real stack (bench.harness.stack): a redis-server of its own, a fresh database on the local
PostgreSQL server, the API under uvicorn and one Celery worker (`celery -A worker.app worker`,
one job at a time, a training process per child, warm start as configured by default), on the
CPU. Every child is trained by the worker; ASHA's decisions are the worker's own, made after each
epoch from the sweep's stored records. ResNet-8, batch 16, cosine schedule, on a small data set:
`--data digits` (default), scikit-learn's scanned digits in the CIFAR-10 layout
(testkit/digits.py: real images, `--train-images` of its 1,497 training images, its 300 test
images), or `--data generated`, testkit's generated CIFAR-10 (so easy that the best runs reach
0 % error, which leaves the selection nothing to tell apart).

The ASHA sweep's default, grace 1 and reduction factor 3 over 9 epochs, is ASHA's usual shape
(Li et al. 2020): the longest run is grace x factor^2, so rungs at epochs 1 and 3 and the third
rung is the end of the run. After the live runs, bench/asha_replay.py's replay of the same rule
over the full search's records is printed as a cross-check. The load average is sampled every
10 s while the sweeps train (other people's work shares the machine).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from asha_replay import replay  # noqa: E402

from bench.harness import machine, stack  # noqa: E402
from testkit.digits import TEST_IMAGES, write_digits  # noqa: E402

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


class LoadSampler:
    """The 1-minute load average every `interval` s, from a background thread."""

    def __init__(self, interval: float = 10.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(interval)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def text(self) -> str:
        values = sorted(self.samples)
        median = values[len(values) // 2]
        return f"load average {values[0]:.1f}-{values[-1]:.1f} (median {median:.1f})"


def run_sweep(http: Any, url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Submit, wait until the worker has ended every child, and read the sweep and its report."""
    from core.store.db import session_scope
    from core.store.tables import Job
    from core.vocabulary import FINAL_STATUSES
    from testkit.processes import wait_for

    started = time.perf_counter()
    answer = http.post("/sweeps", json=body)
    assert answer.status_code == 201, answer.text
    sweep_id = uuid.UUID(answer.json()["id"])
    ids = [uuid.UUID(child["id"]) for child in answer.json()["children"]]

    def ended() -> bool:
        with session_scope(url) as session:
            statuses = [session.get(Job, job_id).status for job_id in ids]  # type: ignore[union-attr]
        return all(status in FINAL_STATUSES for status in statuses)

    with LoadSampler() as load:
        wait_for(ended, timeout=timeout, what=f"sweep {sweep_id} to end", interval=1.0)
    seconds = time.perf_counter() - started
    view = http.get(f"/sweeps/{sweep_id}").json()
    report = http.get(f"/sweeps/{sweep_id}/report").json()
    return {"id": sweep_id, "view": view, "report": report, "seconds": seconds, "load": load}


def summary(name: str, result: dict[str, Any], test_images: int) -> dict[str, Any]:
    view, report = result["view"], result["report"]
    chosen = report["selection"]["on_validation"]
    # The report's JSON gives fractions; this summary is read by people, in %.
    p = chosen["test_error"]["mean"]
    return {
        "name": name,
        "epochs": sum(child["epochs_done"] for child in view["children"]),
        "counts": view["counts"],
        "configuration": chosen["configuration"],
        "validation_error": 100 * chosen["validation_error"]["mean"],
        "test_error": 100 * p,
        # One standard deviation of a test error measured on `test_images` images (binomial).
        "test_error_sd": 100 * math.sqrt(p * (1 - p) / test_images),
        "optimistic_test_error": 100 * report["selection"]["on_test_set"]["test_error"]["mean"],
        "seconds": result["seconds"],
        "load": result["load"].text(),
    }


def print_row(row: dict[str, Any], full: dict[str, Any]) -> None:
    share = row["epochs"] / full["epochs"]
    chosen = ", ".join(f"{k}={v:.3g}" for k, v in row["configuration"].items())
    print(
        f"| {row['name']} | {row['epochs']} | {share:.0%} | {chosen} | "
        f"{row['validation_error']:.2f} % | {row['test_error']:.2f} ± "
        f"{row['test_error_sd']:.2f} % | {row['optimistic_test_error']:.2f} % | "
        f"{row['counts']} | {row['seconds']:.0f} s | {row['load']} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=27)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--grace", type=int, default=1, help="ASHA's grace_epochs")
    parser.add_argument("--reduction", type=int, default=3, help="ASHA's reduction_factor")
    parser.add_argument("--data", choices=("digits", "generated"), default="digits")
    parser.add_argument("--train-images", type=int, default=800, help="digits: of 1,497")
    parser.add_argument("--train-per-class", type=int, default=50, help="generated images")
    parser.add_argument("--test-per-class", type=int, default=50, help="generated images")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per sweep")
    args = parser.parse_args()
    digits = args.data == "digits"
    test_images = TEST_IMAGES if digits else 10 * args.test_per_class
    train_images = args.train_images if digits else 10 * args.train_per_class
    env = {"DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MAX_QUEUED_PER_OWNER": "1000"}
    with stack(
        "bench-asha-",
        env,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        http_timeout=120,
    ) as bench:
        if digits:  # before the worker starts: its spare training process preloads the data
            write_digits(bench.root / "data", train_images=args.train_images)
        bench.start_workers(["asha-bench"], {})
        print(f"machine: {machine()}; started {datetime.datetime.now(datetime.UTC):%F %T} UTC")
        print(
            f"{args.trials} trials x {args.epochs} epochs, ResNet-8, {args.data}: "
            f"{train_images - VALIDATION} training / {VALIDATION} validation / "
            f"{test_images} test images; ASHA grace {args.grace}, factor {args.reduction}",
            flush=True,
        )
        print(
            "| search | epochs trained | share | selected on validation | its validation "
            "error | its test error (± 1 sd) | test-selected (optimistic) | children | time "
            "| load |"
        )
        print("| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |", flush=True)
        body = search(args.trials, args.epochs)
        result = run_sweep(bench.http, bench.url, body, args.timeout)
        full = summary("full search", result, test_images)
        print_row(full, full)
        early = {"rule": "asha", "grace_epochs": args.grace, "reduction_factor": args.reduction}
        asha_body = {**body, "early_stopping": early}
        asha = summary(
            "ASHA", run_sweep(bench.http, bench.url, asha_body, args.timeout), test_images
        )
        print_row(asha, full)
        replayed = replay(bench.url, result["id"], args.grace, args.reduction)
        print(f"ASHA replayed over the full search's records: {replayed}", flush=True)
        started = time.perf_counter()
        again = bench.http.post("/sweeps", json={**body, "reuse": True})
        reuse_seconds = time.perf_counter() - started
        again.raise_for_status()
        print(
            f"full search sent again with reuse: {reuse_seconds * 1000:.0f} ms, "
            f"children {again.json()['counts']}",
            flush=True,
        )
        print(f"ended {datetime.datetime.now(datetime.UTC):%F %T} UTC")


if __name__ == "__main__":
    main()
