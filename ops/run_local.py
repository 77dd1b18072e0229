"""`make run`: the API, one training worker and one webhook worker on this machine, with one
command.

Applies the migrations, makes sure an API key for the owner `local` exists (kept in
`var/local-api-key`, mode 0600), prints where things are, then runs uvicorn and the two Celery
workers as child processes until Ctrl-C (or SIGTERM), which stops them all. A worker that exits
on its own is started again, after a pause that doubles with each quick exit (logged), while
the API stays up; a new training worker, under the same node name, takes the dead one's running
job back at once (worker/recovery.py). If the API dies, the workers are stopped too and the
exit status is non-zero. The webhook worker (queue `webhooks`, no torch) sends the webhook
deliveries, which the training worker's pool thread, busy with its job, could not. The settings
are the usual ones: embedded defaults (SQLite, kombu's filesystem broker, datasets in var/data),
or DATABASE_URL, BROKER_URL and DATA_DIR pointing at PostgreSQL, Redis and a shared folder.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType

from kombu.utils.url import maybe_sanitize_url
from sqlalchemy import make_url

from core.cifar_layout import LAYOUTS, present
from core.messaging.broker import CELERY_WORKER_ARGS, WEBHOOK_WORKER_ARGS
from core.messaging.dataset_queue import DATASET_WORKER_ARGS
from core.settings import VAR_DIR, Settings, get_settings
from core.store.db import session_scope
from core.store.keys import authenticate, create_key
from core.store.migrate import upgrade

log = logging.getLogger("ops.run_local")

KEY_FILE = VAR_DIR / "local-api-key"
URL_FILE = VAR_DIR / "local-api-url"  # beside the key: `crs` reads both (client/user_config.py)
LOCAL_OWNER = "local"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
READY_TIMEOUT_S = 60.0
SECOND_SIGNAL_AFTER_S = 3.0  # after a Ctrl-C, before the children are sent SIGTERM as well


def local_key(settings: Settings, path: Path = KEY_FILE) -> str:
    """The key kept in `path` if the database still knows it, else a new one written there."""
    if path.is_file():
        kept = path.read_text().strip()
        with session_scope(settings.database_url) as session:
            if kept and authenticate(session=session, key=kept) is not None:
                return kept
        log.info("the key in %s is not in this database; creating another", path)
    with session_scope(settings.database_url) as session:
        _, key = create_key(session=session, owner_name=LOCAL_OWNER)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with 0600 from the start: a key readable by others for an instant is still leaked.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(key + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return key


def write_url(url: str, path: Path = URL_FILE) -> None:
    """Where this run's API listens, for `crs` started in this folder or below."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(url + "\n")


def data_line(settings: Settings) -> str:
    """Which data sets DATA_DIR holds, and what happens to a job for one it lacks."""
    found = [name for name in LAYOUTS if present(settings.data_dir, name)]
    lacking = [name for name in LAYOUTS if name not in found]
    parts = [f"found {', '.join(found) or 'none'}"]
    if lacking:
        what = (
            "downloaded on first use"
            if settings.download_datasets
            else "DOWNLOAD_DATASETS is off: jobs for it are refused"
        )
        parts.append(f"{', '.join(lacking)} missing ({what})")
    return f"{settings.data_dir}: {'; '.join(parts)}"


def banner(settings: Settings, url: str, key: str) -> str:
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    example = (
        f"curl -s -X POST {url}/jobs -H 'Authorization: Bearer {key}' "
        "-H 'Content-Type: application/json' "
        """-d '{"architecture": "resnet", "depth": 20, "epochs": 1}'"""
    )
    return "\n".join(
        [
            "CIFAR ResNet training service",
            f"  API:      {url}",
            f"  docs:     {url}/docs",
            f"  API key:  {key}",
            f"            (owner {LOCAL_OWNER!r}, kept in {KEY_FILE})",
            f"  database: {database}",
            f"  broker:   {maybe_sanitize_url(settings.broker_url)}",
            f"  datasets: {data_line(settings)}",
            f"  try:      {example}",
            f"  crs:      export CRS_URL={url} CRS_API_KEY={key}",
            f"            (or run crs in this folder or below: it reads {URL_FILE} and {KEY_FILE})",
            f"  sign in:  {url}/#key={key}",
            "Ctrl-C stops the API and the workers.",
        ]
    )


def _die_with_this_process() -> None:
    # Runs between fork and exec of a child; safe because this process starts no threads
    # before its children. SIGTERM, not SIGKILL: if this runner is killed, the worker still
    # hands its job back.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


UVICORN = [sys.executable, "-m", "uvicorn", "api.app:app", "--no-proxy-headers"]


def commands(host: str, port: int) -> dict[str, list[str]]:
    python = sys.executable
    # One machine, no peers: the workers skip the start-up exchange with other workers.
    celery = [python, "-m", "celery"]
    alone = ["--loglevel=INFO", "--without-gossip", "--without-mingle"]
    return {
        # No proxy in front: X-Forwarded-For is never trusted (uvicorn trusts 127.0.0.1's
        # by default, and the failed-key limit keys on the client's address; issue 17).
        "api": [*UVICORN, "--host", host, "--port", str(port)],
        "worker": [*celery, *CELERY_WORKER_ARGS, "-n", "local@%h", *alone],
        "webhook worker": [*celery, *WEBHOOK_WORKER_ARGS, "-n", "local-webhooks@%h", *alone],
        # Uploaded data sets (issue 19), checked and converted off the API and training.
        "dataset worker": [*celery, *DATASET_WORKER_ARGS, "-n", "local-datasets@%h", *alone],
    }


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host if host != "0.0.0.0" else "127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


class Backoff:
    """Pauses before restarting a worker: doubling from `first_s` up to `longest_s` while it
    keeps exiting soon after its start; a worker that ran `stable_after_s` starts afresh."""

    def __init__(
        self, first_s: float = 1.0, longest_s: float = 60.0, stable_after_s: float = 60.0
    ) -> None:
        self.first_s = first_s
        self.longest_s = longest_s
        self.stable_after_s = stable_after_s
        self.next_s = first_s

    def pause(self, ran_s: float) -> float:
        """The pause before the next start of a worker that exited after `ran_s` seconds."""
        if ran_s >= self.stable_after_s:
            self.next_s = self.first_s
        pause = self.next_s
        self.next_s = min(self.next_s * 2, self.longest_s)
        return pause


def supervise(
    children: dict[str, subprocess.Popen[bytes]],
    stop: threading.Event,
    restart: dict[str, Callable[[], subprocess.Popen[bytes]]] | None = None,
    backoff: Backoff | None = None,
) -> str | None:
    """Wait until `stop` is set (None) or a child that is not restarted exits (its name).

    A child named in `restart` is started again by its function when it exits, after a pause
    from its own copy of `backoff`; `stop` ends the wait also during the pause.
    """
    restart = restart or {}
    backoffs = {name: copy.copy(backoff) if backoff else Backoff() for name in restart}
    started = {name: time.monotonic() for name in children}
    while not stop.wait(0.2):
        for name, child in children.items():
            code = child.poll()
            if code is None:
                continue
            if name not in restart:
                return name
            if stop.is_set():  # Ctrl-C reaches the worker too; it exits as it should
                return None
            pause = backoffs[name].pause(time.monotonic() - started[name])
            log.warning("the %s exited with status %s; starting another in %g s", name, code, pause)
            if stop.wait(pause):
                return None
            children[name] = restart[name]()
            started[name] = time.monotonic()
            log.info("the %s is running again (pid %d)", name, children[name].pid)
    return None


def wait_children(children: dict[str, subprocess.Popen[bytes]], seconds: float) -> None:
    """Wait up to `seconds` for every child to exit on its own."""
    deadline = time.monotonic() + seconds
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))


def stop_children(children: dict[str, subprocess.Popen[bytes]], grace_s: float) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + grace_s
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %g s; killing it", name, grace_s)
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.run_local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address the API listens on")
    parser.add_argument("--port", type=int, default=8000, help="port the API listens on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    settings = get_settings()
    upgrade(settings.database_url)
    key = local_key(settings)
    url = f"http://{args.host}:{args.port}"
    write_url(url)
    print(banner(settings, url, key), flush=True)

    stop = threading.Event()
    signals: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    programs = commands(args.host, args.port)

    def start(name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(programs[name], preexec_fn=_die_with_this_process)

    children = {name: start(name) for name in programs}
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stop.is_set() and children["api"].poll() is None:
        if _listening(args.host, args.port):
            print(f"ready: {url} (docs: {url}/docs)", flush=True)
            break
        if time.monotonic() > deadline:
            log.warning("the API is not listening on %s after %g s", url, READY_TIMEOUT_S)
            break
        time.sleep(0.2)

    # A local run is a small deployment: a lost worker is replaced, the API stays up.
    workers = [name for name in programs if name != "api"]
    died = supervise(children, stop, restart={name: partial(start, name) for name in workers})
    if died is not None:
        log.error("the %s exited with status %s; stopping", died, children[died].returncode)
    if signals[:1] == [signal.SIGINT]:
        # Ctrl-C in a terminal reaches every process of the group: the children are stopping
        # already. A SIGTERM at once could land inside Celery's handler of that SIGINT, which
        # holds a lock the second handler then waits for, for ever; so they get a moment first.
        wait_children(children, SECOND_SIGNAL_AFTER_S)
    # The worker may need the grace period to hand its job back, and a little more to exit.
    stop_children(children, settings.shutdown_grace_s + 10)
    return 1 if died is not None else 0


if __name__ == "__main__":
    sys.exit(main())
