"""Training step time of the core trainer, eager and compiled, one or several jobs per device
(issue 13). Made for the day a GPU is lent (`device` tool), and runs on the CPU as well.

    .venv/bin/python -m bench.train_step --device cuda              # ResNet-20 and 56, all modes
    .venv/bin/python -m bench.train_step --device cpu --depths 8 --jobs 1 --steps 10

For each depth and mode it prints the compile time (first steps, compiled only), the steady-state
steps per second and images per second, the epoch time of 50,000 images at batch 128 (391
steps) and the estimated time of the paper's 164 epochs. With `--jobs N`, N processes train at
once on the same device (as `JOBS_PER_GPU=N` runs them) and the figures are their sum.
Synthetic data (random uint8 images on the device): the step is what is measured, not the data.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from typing import Any

import torch

from core.spec import TrainConfig
from core.trainer.compiled import compile_model
from core.trainer.device import choose_precision, grad_scaler
from core.trainer.loop import TrainState, train_one_epoch
from core.trainer.models import build_model
from core.trainer.optim import build_optimizer
from core.trainer.schedule import WarmupState

BATCH = 128
STEPS_PER_EPOCH = 391  # 50,000 images at batch 128
PAPER_EPOCHS = 164


def measure(depth: int, device: str, compiled: bool, steps: int, warmup: int) -> dict[str, Any]:
    """One process: compile (or not), warm up, then time `steps` steps."""
    torch.manual_seed(0)
    dev = torch.device(device)
    config = TrainConfig(depth=depth, batch_size=BATCH, device=device, warmup="off")
    model = build_model("resnet", depth, 10).to(dev).to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config)
    precision = choose_precision("auto", dev)
    forward = compile_model(model, dev) if compiled else model
    images = torch.randint(0, 256, ((steps + warmup) * BATCH, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, ((steps + warmup) * BATCH,))
    images, labels = images.to(dev), labels.to(dev)
    generator = torch.Generator().manual_seed(0)

    def run(count: int) -> float:
        state = TrainState(
            epoch=0, batch=0, warmup=WarmupState.start(config), epoch_rng=generator.get_state()
        )
        stop_after = count

        def should_stop() -> bool:
            return state.batch >= stop_after

        if dev.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        train_one_epoch(
            forward,
            optimizer,
            images,
            labels,
            config=config,
            state=state,
            generator=generator,
            autocast_dtype=precision.dtype,
            scaler=grad_scaler(precision, dev),
            should_stop=should_stop,
        )
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    model.train()
    first = run(warmup)  # compiles, picks cuDNN kernels, fills caches
    seconds = run(steps)
    return {"warmup_s": first, "step_s": seconds / steps, "precision": precision.name}


def _worker(args: tuple[int, str, bool, int, int], out: Any) -> None:
    out.put(measure(*args))


def measure_jobs(depth: int, device: str, compiled: bool, steps: int, jobs: int) -> dict[str, Any]:
    if jobs == 1:
        results = [measure(depth, device, compiled, steps, warmup=5)]
    else:
        context = mp.get_context("spawn")  # CUDA does not survive fork
        queue = context.Queue()
        processes = [
            context.Process(target=_worker, args=((depth, device, compiled, steps, 5), queue))
            for _ in range(jobs)
        ]
        for process in processes:
            process.start()
        results = [queue.get() for _ in processes]
        for process in processes:
            process.join()
    per_job_step = statistics.fmean(r["step_s"] for r in results)
    images_per_s = sum(BATCH / r["step_s"] for r in results)
    epoch_s = per_job_step * STEPS_PER_EPOCH
    return {
        "depth": depth,
        "device": device,
        "compiled": compiled,
        "jobs": jobs,
        "precision": results[0]["precision"],
        "first_steps_s": round(max(r["warmup_s"] for r in results), 2),
        "steps_per_s_per_job": round(1 / per_job_step, 2),
        "images_per_s_total": round(images_per_s, 1),
        "epoch_s_per_job": round(epoch_s, 2),
        "paper_164_epochs_min_per_job": round(epoch_s * PAPER_EPOCHS / 60, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled"])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            sys.exit("no CUDA device here: run with --device cpu, or on a lent GPU")
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    else:
        torch.set_num_threads(max(1, torch.get_num_threads()))
        print(f"device: CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    for depth in args.depths:
        for mode in args.modes:
            for jobs in args.jobs:
                row = measure_jobs(depth, args.device, mode == "compiled", args.steps, jobs)
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
