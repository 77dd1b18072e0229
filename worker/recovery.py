"""Super fetch: a worker restarted under a dead worker's name takes back its jobs at once.

A claim records its holder as `<node>/pid<pid>/<home>.<boot>`: the Celery node name, the
process id, the id of the worker's home on this machine (kept in a lock file under
WORKER_STATE_DIR) and a random id of the process itself. A worker holds an exclusive lock
(flock) on `<WORKER_STATE_DIR>/<node>.lock` for as long as it lives, and the kernel drops
that lock when the process dies, however it died. So the worker that gets the lock knows that
every process that held it before is gone: a running job recorded under its node name and
home but another process's id belongs to a dead worker. Each such job is given up under the
very lease the dead worker held (`HeldJob.abandon`: back to `queued`, the attempt counted, as the
reaper would do a lease timeout later), so a job taken meanwhile by anyone else is left
alone, and it is sent again at once.

A worker that finds the lock taken (a second live worker with the same name on this machine)
recovers nothing and records a home of its own, so its jobs are never taken this way either.
Workers on other machines or in other containers have other homes (other lock files) and
never take each other's jobs: for them the lease timeout and the reaper remain.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.settings import Settings
from core.store.recovery import Holding, running_jobs_of
from core.store.tables import JobStatus
from worker.held_job import HeldJob
from worker.store_calls import store_call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerId:
    """Who holds a claim; `str()` is what the job's `worker` column records."""

    node: str  # the Celery node name, e.g. "w1@host"
    pid: int
    home: str  # the lock file's id while the lock is held; a random one otherwise
    boot: str  # this process's own random id

    def __str__(self) -> str:
        return f"{self.node}/pid{self.pid}/{self.home}.{self.boot}"

    def earlier_self(self, holder: str) -> bool:
        """Whether `holder` is another process with this node name and home."""
        prefix = f"{self.node}/pid"
        if not holder.startswith(prefix) or holder == str(self):
            return False
        return holder.rsplit("/", 1)[-1].startswith(f"{self.home}.")


# The lock file stays open (and so locked) for the life of the worker's main process.
_lock_file: IO[str] | None = None
_current: WorkerId | None = None


def current() -> WorkerId | None:
    """This worker's id, once `take_node` has run (at worker start)."""
    return _current


def lock_path(settings: Settings, node: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9@._-]", "_", node)[:200]
    return settings.worker_state_dir / f"{safe}.lock"


def take_node(settings: Settings, node: str) -> tuple[WorkerId, bool]:
    """This process's id, and whether it holds its node name's lock (and may recover)."""
    global _lock_file, _current
    boot = uuid.uuid4().hex[:12]
    path = lock_path(settings, node)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not truncated on open: the file keeps the home's id from one worker to the next.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        file = os.fdopen(descriptor, "r+")
    except OSError as error:
        log.warning(
            "cannot open %s (%s); a restart will not take back this worker's jobs", path, error
        )
        _current = WorkerId(node, os.getpid(), uuid.uuid4().hex[:12], boot)
        return _current, False
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.close()
        log.warning(
            "another live worker on this machine is named %s (it holds %s): this one takes "
            "back no jobs at start; give each worker its own name (-n)",
            node,
            path,
        )
        _current = WorkerId(node, os.getpid(), uuid.uuid4().hex[:12], boot)
        return _current, False
    home = file.read().strip()
    if not re.fullmatch(r"[0-9a-f]{12}", home):
        home = uuid.uuid4().hex[:12]
        file.seek(0)
        file.truncate()
        file.write(home + "\n")
        file.flush()
    if _lock_file is not None:
        _lock_file.close()
    _lock_file = file
    _current = WorkerId(node, os.getpid(), home, boot)
    return _current, True


def take_back(
    settings: Settings, me: WorkerId, send: Callable[[uuid.UUID], None]
) -> list[uuid.UUID]:
    """Give up and send again the running jobs of this node's dead earlier processes.

    Call only while holding the node's lock (`take_node` returned True).
    """
    held: list[Holding] = store_call(
        settings,
        lambda session: running_jobs_of(session=session, worker_prefix=f"{me.node}/pid"),
        what=f"list the jobs of {me.node}",
    )
    taken = []
    for holding in held:
        if not me.earlier_self(holding.worker):
            continue
        reason = f"its worker {holding.worker} died and was restarted"
        status = HeldJob(settings, holding.job_id, holding.lease_id).abandon(reason)
        if status is None:
            continue  # ended or taken meanwhile
        log.warning("job %s: %s; now %s", holding.job_id, reason, status.value)
        if status == JobStatus.queued:
            try:
                send(holding.job_id)
            except Exception:
                # enqueued_at is NULL: the reaper's outbox pass sends it once the broker answers.
                log.exception(
                    "job %s: could not reach the broker; the reaper will send it", holding.job_id
                )
                continue
            taken.append(holding.job_id)
    return taken
