"""The next training process, started while the worker is idle (issue 10, job start-up).

A job still gets a fresh process (its GPU memory goes back when it exits; CUDA does not survive
fork), but one already past the slow part:
`python -m worker.training_process.train_child --spare DATA_DIR` starts the interpreter,
imports torch and the trainer, reads the datasets found in DATA_DIR into memory, then waits on
its stdin for its order (`worker.training_process.order`). It touches no CUDA and holds no job
until the order comes: killed while it waits, it loses nothing.

One spare at a time: started when the worker is ready and after each job; taken by the next job.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from core.settings import Settings
from worker import spawn

log = logging.getLogger(__name__)

_lock = threading.Lock()
_spare: subprocess.Popen[bytes] | None = None
# Set when the worker is ready (worker.signals): code that runs jobs without a Celery worker
# around it (tests calling supervise) keeps no spare.
_enabled = False
# Set by `discard` (the worker shuts down): no spare is started from then on.
_closed = False


def command(settings: Settings) -> list[str]:
    """The command line of a spare: `worker.training_process.train_child` in it, as `ps` shows
    every one, and this worker's pid, for the spare to check that it was not orphaned before it
    could arm its death signal."""
    return [
        sys.executable,
        "-m",
        "worker.training_process.train_child",
        "--spare",
        str(settings.data_dir),
        "--parent",
        str(os.getpid()),
    ]


def enable(settings: Settings) -> None:
    """The worker is ready: keep a spare from now on (unless WARM_START is off), starting now."""
    global _enabled, _closed
    _enabled, _closed = settings.warm_start, False
    prepare(settings)


def prepare(settings: Settings) -> None:
    """Start a spare unless one is waiting (or the worker keeps none). With several jobs per
    worker one spare serves them all: a job that finds none starts its process the slow way."""
    global _spare
    if not (_enabled and settings.warm_start):
        return
    with _lock:
        if _closed or (_spare is not None and _spare.poll() is None):
            return
        _spare = spawn.popen(command(settings))
        log.info("spare training process %d started", _spare.pid)
        # `discard` may have run meanwhile (a shutdown as a job ended) and found no spare yet: it
        # sets _closed before it looks, this sets _spare before it looks, so one of the two sees
        # the other and the new spare does not outlive the worker's shutdown.
        if _closed:
            _spare.kill()


def take() -> subprocess.Popen[bytes] | None:
    """The waiting spare, now the caller's (it writes the order to its stdin); None if there is
    none, or it died (then the caller starts a process the slow way)."""
    global _spare
    with _lock:
        spare, _spare = _spare, None
    if spare is None:
        return None
    if spare.poll() is not None:
        log.warning("spare training process %d had exited (%s)", spare.pid, spare.returncode)
        return None
    return spare


def discard() -> None:
    """Kill the waiting spare (the worker shuts down). Safe in a signal handler: no lock, no
    logging; a spare holds no job, so SIGKILL loses nothing."""
    global _closed
    _closed = True
    spare = _spare
    if spare is not None and spare.poll() is None:
        spare.kill()
