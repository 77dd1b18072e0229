"""The one thread of the worker's main process that starts training processes.

A training process asks the kernel to kill it when the worker dies (PR_SET_PDEATHSIG), and
Linux sends that signal when the *thread* that forked it ends, not the process. Jobs run in
Celery's pool threads (several per worker with JOBS_PER_GPU): a process forked by one of them
would be killed when that thread ends, for instance while the pool stops its idle threads at
shutdown and a busy one still waits for its job's hand-back; and the spare started after one job
is taken by a job in another thread. So every training process is forked here, by one thread
that lives as long as the worker process.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

# One thread, started on first use and kept until the interpreter exits.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")


def popen(command: list[str]) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(command, stdin=PIPE)`, forked by the spawning thread. Same process
    group as the worker: a signal to the group reaches the child too."""
    return _spawner.submit(subprocess.Popen, command, stdin=subprocess.PIPE).result()
