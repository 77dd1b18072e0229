"""The training process of one claimed job:
`python -m worker.training_process.train_child JOB_ID < order.json`.

Started by `worker.child` for the supervisor, one per job. It dies with its worker
(PR_SET_PDEATHSIG), hands the job back on SIGTERM or SIGINT, and is the only process of the
worker that imports torch. Exit code 0: the job's end (or the lost lease) is recorded; anything
else: the supervisor settles the job.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from worker.after_commit import install as install_after_commit
from worker.training_process.lease import Lease
from worker.training_process.order import ChildOrder

log = logging.getLogger("worker.training_process.train_child")

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PR_SET_NAME = 15


def name_process(name: bytes) -> None:
    """The process's name in `ps -o comm` (and /proc/PID/comm): a spare is `crs-spare` until
    its order comes, then `crs-train` like every training process."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when the worker dies, so no orphan keeps training."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    # The worker may have died before the prctl took effect: then this process was re-parented.
    if os.getppid() != parent_pid:
        raise SystemExit(f"the worker (pid {parent_pid}) is gone; not training")


def share_cpu(jobs_per_worker: int) -> None:
    """With several jobs per worker, each training process takes its share of the CPU's cores
    (the CPU device's kernels, and data loading on a GPU), unless OMP_NUM_THREADS says how many:
    2 processes with all cores each would spend their time contending for them."""
    if jobs_per_worker > 1 and "OMP_NUM_THREADS" not in os.environ:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // jobs_per_worker))


def warm_up(data_dir: Path) -> None:
    """A spare's head start (worker.spare): torch and the trainer imported, the datasets found
    in data_dir read into memory. No CUDA: the job's device is not known yet, and CUDA state
    would not be the job's own fresh one."""
    import torch

    from core.cifar_layout import LAYOUTS
    from core.trainer import data, fit  # noqa: F401  (torch and torchvision come in here)
    from core.trainer.models import build_model
    from worker.training_process import training  # noqa: F401

    # One step of a small network on the CPU: autograd and the CPU's convolution kernels set up
    # ahead (the job seeds torch itself before it builds its own model, so its run is unchanged).
    build_model("resnet", 8)(torch.zeros(2, 3, 32, 32)).sum().backward()
    found = [name for name in LAYOUTS if data.preload(data_dir, name)]
    log.info("spare ready: datasets %s of %s in memory", found or "none", data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worker.training_process.train_child", description=__doc__
    )
    parser.add_argument(
        "job_id", nargs="?", help="shown by `ps`; the order on stdin is what counts"
    )
    parser.add_argument(
        "--spare",
        metavar="DATA_DIR",
        type=Path,
        help="start ahead of the job: import torch, read DATA_DIR's datasets, then wait for the "
        "order on stdin",
    )
    parser.add_argument(
        "--parent", type=int, help="the worker's pid (a spare's): exit if it is gone already"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format=f"[%(asctime)s: %(levelname)s/train-{os.getpid()}] %(name)s: %(message)s",
    )
    if args.spare is not None:
        # No job yet: SIGTERM and SIGINT end a spare at once (the defaults), it has nothing to
        # hand back; and it dies with the worker like any training process.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        name_process(b"crs-spare")
        die_with_parent(args.parent or os.getppid())
        warm_up(args.spare)
    text = sys.stdin.read()
    if not text.strip():
        return 0  # the worker closed the pipe: a spare no job needed
    order = ChildOrder.from_json(text)
    name_process(b"crs-train")

    die_with_parent(order.parent_pid)
    # Installed before torch loads (seconds), so an early SIGTERM still hands the job back.
    # SIGINT too: Ctrl-C in a terminal reaches the whole process group, this process included.
    shutdown = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: shutdown.set())

    settings = order.settings
    share_cpu(settings.jobs_per_gpu)
    install_after_commit(settings)  # events published and webhooks sent after each commit
    # Renewing starts before torch loads: on a busy machine that takes longer than a lease.
    lease = Lease(settings, order.job_id, order.lease_id)
    if not lease.begin():
        return 0

    from worker.training_process.training import train  # torch comes in here

    train(
        order.job_id,
        order.lease_id,
        settings,
        shutdown=shutdown,
        lease=lease,
        scratch=order.scratch,
    )
    return 0


if __name__ == "__main__":
    status = main()
    # Everything is committed: skip the interpreter's teardown of torch (seconds on a busy
    # machine), which would keep the worker from its next job for nothing.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
