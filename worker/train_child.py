"""The training process of one claimed job: `python -m worker.train_child JOB_ID LEASE_ID`.

Started by `worker.supervisor`, one per job. It dies with its worker (PR_SET_PDEATHSIG), hands
the job back on SIGTERM or SIGINT, and is the only process of the worker that imports torch.
Exit code 0: the job's end (or the lost lease) is recorded; anything else: the supervisor
settles the job.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import threading
import uuid
from pathlib import Path

from core.settings import get_settings
from worker.lease import Lease

log = logging.getLogger("worker.train_child")

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int | None) -> None:
    """Have the kernel SIGKILL this process when the worker dies, so no orphan keeps training."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    # The worker may have died before the prctl took effect: then this process was re-parented.
    if parent_pid is not None and os.getppid() != parent_pid:
        raise SystemExit(f"the worker (pid {parent_pid}) is gone; not training")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.train_child", description=__doc__)
    parser.add_argument("job_id", type=uuid.UUID)
    parser.add_argument("lease_id", type=uuid.UUID)
    parser.add_argument("--parent-pid", type=int, default=None, help="the supervising worker")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="a folder for the job's files; the caller removes it",
    )
    args = parser.parse_args(argv)

    die_with_parent(args.parent_pid)
    # Installed before torch loads (seconds), so an early SIGTERM still hands the job back.
    # SIGINT too: Ctrl-C in a terminal reaches the whole process group, this process included.
    shutdown = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: shutdown.set())
    logging.basicConfig(
        level=logging.INFO,
        format=f"[%(asctime)s: %(levelname)s/train-{os.getpid()}] %(name)s: %(message)s",
    )

    settings = get_settings()
    # Renewing starts before torch loads: on a busy machine that takes longer than a lease.
    lease = Lease(settings, args.job_id, args.lease_id)
    if not lease.begin():
        return 0

    from worker.training import train  # torch comes in here

    train(
        args.job_id, args.lease_id, settings, shutdown=shutdown, lease=lease, scratch=args.scratch
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
