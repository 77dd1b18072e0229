"""Several jobs per worker (issue 13): the wall time of 8 one-epoch ResNet-8 jobs on one worker
at JOBS_PER_GPU=1 and at 2.

    .venv/bin/python bench/jobs_per_gpu.py               # 8 jobs a mode, 2,000 training images
    .venv/bin/python bench/jobs_per_gpu.py --jobs 4 --images-per-class 40   # a smoke run

Starts a redis-server of its own, a fresh database on the local PostgreSQL server, the API and
one real worker per mode (`celery ... --pool=threads`,
core.messaging.broker.CELERY_WORKER_ARGS), on the
CPU; tiny generated CIFAR-10. The jobs go in as one sweep (`POST /sweeps`, seeds 0..n-1); the
wall time runs from the first job's creation to the last one's end. Modes, in this order:

- 1 per worker, torch's default threads (all cores for the one training process);
- 1 per worker, OMP_NUM_THREADS=1 (the per-process setting of the 2-per-worker mode);
- 2 per worker: each training process takes cpu_count // 2 threads
  (worker.training_process.train_child).

On a GPU the same script measures the device (DEVICE=cuda): pass `--device cuda`.
Compare the ratios of one run, not figures of different runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import stack  # noqa: E402
from bench.job_startup import sweep_seconds  # noqa: E402
from testkit.procfs import cpu_name  # noqa: E402

# (label, worker settings)
MODES: tuple[tuple[str, dict[str, str]], ...] = (
    ("1 per worker, default threads", {"JOBS_PER_GPU": "1"}),
    ("1 per worker, OMP_NUM_THREADS=1", {"JOBS_PER_GPU": "1", "OMP_NUM_THREADS": "1"}),
    ("2 per worker", {"JOBS_PER_GPU": "2"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="one-epoch jobs per mode")
    parser.add_argument("--images-per-class", type=int, default=200, help="training images")
    parser.add_argument("--device", default="cpu", help="the workers' DEVICE")
    args = parser.parse_args()

    seconds: dict[str, float] = {}
    env = {"DEVICE": args.device, "MAX_QUEUED_PER_OWNER": "1000"}
    with stack(
        "jobs-per-gpu-bench-",
        env,
        train_per_class=args.images_per_class,
        test_per_class=20,
        http_timeout=60,
    ) as bench:
        for n, (label, settings) in enumerate(MODES):
            (worker,) = bench.start_workers([f"mode{n}"], settings)
            seconds[label] = sweep_seconds(bench.http, bench.url, args.jobs, f"mode{n}")
            print(f"{label}: {args.jobs} jobs in {seconds[label]:.1f} s", flush=True)
            worker.stop()

    base = seconds[MODES[0][0]]
    print(f"\n{args.jobs} one-epoch ResNet-8 jobs, {args.images_per_class * 10} training images:")
    for label, _ in MODES:
        print(f"  {label:34} {seconds[label]:6.1f} s  (x{base / seconds[label]:.2f} vs first)")
    print(f"machine: {cpu_name()}, {len(os.sched_getaffinity(0))} cores, {time.ctime()}")


if __name__ == "__main__":
    main()
