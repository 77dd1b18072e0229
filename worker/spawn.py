"""The one thread of the worker's main process that starts training processes.

A training process asks the kernel to kill it when the worker dies (PR_SET_PDEATHSIG), and
Linux sends that signal when the *thread* that forked it ends, not the process. Jobs run in
Celery's pool threads (several per worker with JOBS_PER_GPU): a process forked by one of them
would be killed when that thread ends, for instance while the pool stops its idle threads at
shutdown and a busy one still waits for its job's hand-back; and the spare started after one job
is taken by a job in another thread. So every training process is forked here, by a daemon
thread that lives as long as the worker process.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from concurrent.futures import Future

_requests: queue.SimpleQueue[tuple[list[str], Future[subprocess.Popen[bytes]]]] = (
    queue.SimpleQueue()
)
_lock = threading.Lock()
_thread: threading.Thread | None = None


def popen(command: list[str]) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(command, stdin=PIPE)`, forked by the spawning thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_serve, name="spawner", daemon=True)
            _thread.start()
    done: Future[subprocess.Popen[bytes]] = Future()
    _requests.put((command, done))
    return done.result()


def _serve() -> None:
    while True:
        command, done = _requests.get()
        try:
            # Same process group as the worker: a signal to the group reaches the child too.
            done.set_result(subprocess.Popen(command, stdin=subprocess.PIPE))
        except BaseException as error:  # handed to the caller, who raises it
            done.set_exception(error)
